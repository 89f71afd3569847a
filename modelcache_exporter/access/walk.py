"""Walking a model's folder as the web UI's user would open it: which files it could not read, which folders
it could not list or pass through.

A model's folder and every folder in it must be readable and searchable (r and x: the web UI lists
snapshots and opens files in them); the folders above it, from the cache root down, searchable (x). A file
must be readable. A symbolic link is followed the way the kernel follows it (up to 8 links): every folder
on the way to its target must be searchable and the target readable; a link whose target is missing is not
counted here (the index reports it as broken). Each file and folder counts once per model, by the path it
resolves to. Entries the exporter itself cannot see are skipped, and so are the folders a model's caller
says the web UI does not read (`run.skipped`: a hub repo's `blobs/`, `trees/`, `.no_exist/`; a local dir's
`.cache/`).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from modelcache_exporter.access.perms import ACL_XATTR, EXEC, READ, Acl, Who, allowed, describe, parse_acl

#: Unreadable entries named per model (the count is always complete).
MAX_NAMED = 10
_MAX_LINKS = 8


@dataclass(frozen=True)
class Denied:
    """One entry the web UI's user cannot use: its path (relative to the root when inside it), whether it is
    a file or a folder, and why (owner, mode, ACL)."""

    path: str
    kind: str
    why: str


@dataclass(frozen=True)
class Access:
    """One model (or required model's folder): the files and folders checked, how many of them the user could
    not read or search, and the first MAX_NAMED of those."""

    key: str
    files: int = 0
    folders: int = 0
    unreadable_files: int = 0
    unreadable_folders: int = 0
    denied: tuple[Denied, ...] = ()


class Walker:
    """Checks entries under one root for one user; verdicts are kept for the walker's life (one pass)."""

    def __init__(self, root: str, who: Who) -> None:
        self.root, self.who = os.path.abspath(root), who
        self._verdicts: dict[tuple[str, int], tuple[bool, str] | None] = {}
        self._acls = True

    def model(self, key: str, base: str, files: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> Access:
        """Model `key` at folder `base`: every entry under it, or only `files` (relative to it) when given."""
        tally, base = _Tally(key, self), os.path.abspath(base)
        if base != self.root:  # the folders above the root are the web UI's own mount: not checked
            tally.chain(os.path.dirname(base))
        tally.entry(base, READ | EXEC, "folder")
        if files:
            for rel in files:
                path = os.path.join(base, rel)
                tally.chain(os.path.dirname(path), floor=base)
                tally.follow(path)
            return tally.result()
        for dirpath, dirs, names in os.walk(base, onerror=lambda _e: None):
            if dirpath == base:
                dirs[:] = [d for d in dirs if d not in skip]
            for d in list(dirs):
                path = os.path.join(dirpath, d)
                if os.path.islink(path):
                    dirs.remove(d)
                    tally.follow(path)
                else:
                    tally.entry(path, READ | EXEC, "folder")
            for n in names:
                tally.follow(os.path.join(dirpath, n))
        return tally.result()

    def verdict(self, path: str, want: int) -> tuple[bool, str] | None:
        """(allowed, why) for the inode at `path` (links followed); None when the exporter cannot stat it."""
        known = self._verdicts.get((path, want), ())
        if known != ():
            return known  # type: ignore[return-value]
        try:
            st = os.stat(path)
        except OSError:
            got = None
        else:
            acl = self._acl(path)
            got = (allowed(st.st_mode, st.st_uid, st.st_gid, acl, self.who, want), "")
            if not got[0]:
                got = (False, describe(st.st_mode, st.st_uid, st.st_gid, acl))
        self._verdicts[(path, want)] = got
        return got

    def _acl(self, path: str) -> Acl | None:
        if not self._acls:
            return None
        try:
            return parse_acl(os.getxattr(path, ACL_XATTR))
        except OSError as exc:
            if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
                self._acls = False  # this filesystem keeps no ACLs
            return None

    def shown(self, path: str) -> str:
        """`path` relative to the root when inside it, else as it is."""
        rel = os.path.relpath(path, self.root)
        return path if rel.startswith("..") else rel


class _Tally:
    """The entries of one model checked so far."""

    def __init__(self, key: str, walker: Walker) -> None:
        self.key, self.w = key, walker
        self.counted: dict[str, bool] = {}
        self.counts = {"file": [0, 0], "folder": [0, 0]}
        self.denied: list[Denied] = []

    def entry(self, path: str, want: int, kind: str) -> None:
        """Count the inode at `path` (once) and whether the user has `want` on it (a folder first only searched
        and later listed counts as denied if either is)."""
        if self.counted.get(path) is False:
            return
        got = self.w.verdict(path, want)
        if got is None or (path in self.counted and got[0]):
            return
        if path not in self.counted:
            self.counts[kind][0] += 1
        self.counted[path] = got[0]
        if not got[0]:
            self.counts[kind][1] += 1
            if len(self.denied) < MAX_NAMED:
                self.denied.append(Denied(self.w.shown(path), kind, got[1]))

    def chain(self, folder: str, floor: str = "") -> None:
        """Every folder from the root (or `/` outside it; or `floor`) down to `folder` must be searchable."""
        root = floor or self.w.root
        start = root if folder == root or folder.startswith(root + os.sep) else os.sep
        rel = os.path.relpath(folder, start)
        path = start
        self.entry(path, EXEC, "folder")
        for part in [] if rel == "." else rel.split(os.sep):
            path = os.path.join(path, part)
            self.entry(path, EXEC, "folder")

    def follow(self, path: str) -> None:
        """A file, or a link followed to its target (each hop's folders searchable, the target readable)."""
        for _hop in range(_MAX_LINKS):
            try:
                link = os.readlink(path)
            except OSError:
                break  # not a link (or gone)
            path = os.path.normpath(os.path.join(os.path.dirname(path), link))
            self.chain(os.path.dirname(path))
        if os.path.isdir(path):
            self.entry(path, READ | EXEC, "folder")
        else:
            self.entry(path, READ, "file")

    def result(self) -> Access:
        (files, bad_files), (folders, bad_folders) = self.counts["file"], self.counts["folder"]
        return Access(self.key, files, folders, bad_files, bad_folders, tuple(self.denied))
