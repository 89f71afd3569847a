"""Reading a hub repo's snapshots: one `readlink` per entry, matched against the repo's blob listing.

This is the link pass: exact per-revision files and sizes, broken links, blobs no snapshot uses.
Links are resolved by name (`../../blobs/<etag>`, one more `../` per subfolder) without `resolve()`;
anything else is normalised, and a link leaving the cache root is counted, never followed.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable

from modelcache_exporter.base import quiet
from modelcache_exporter.scan.model import Revision, ScanError, error_from_os
from modelcache_exporter.scan.safeio import inside, read_head, safe_dir

_PREFIXES = tuple("../" * (depth + 2) + "blobs/" for depth in range(16))

# A blob as seen in <repo>/blobs: (size, allocated bytes, mtime, held by this repo's folder).
Blob = tuple[int, int, float, bool]


def walk_revision(
    rev_path: str,
    rel: str,
    on_link: Callable[[str, str, int], None],
    on_file: Callable[[str, str], None],
    errors: list[ScanError],
) -> None:
    """Visit every entry of one snapshot folder: symlinks go to `on_link`, plain files to `on_file`."""
    stack = [(rev_path, rel, 0)]
    while stack:
        path, rpath, depth = stack.pop()
        try:
            with os.scandir(path) as it:
                for i, e in enumerate(it, 1):
                    if not i % quiet.EVERY:
                        quiet.pause_within()
                    if e.is_symlink():
                        try:
                            on_link(e.path, os.readlink(e.path), depth)
                        except OSError as exc:
                            errors.append(error_from_os(exc, f"{rpath}/{e.name}"))
                    elif e.is_dir(follow_symlinks=False):
                        stack.append((e.path, f"{rpath}/{e.name}", depth + 1))
                    else:
                        on_file(e.path, f"{rpath}/{e.name}")
        except OSError as exc:
            errors.append(error_from_os(exc, rpath))


class RepoScan:
    """Accumulates one repo's snapshots against its blob listing."""

    def __init__(self, repo: str, key: str, blobs: dict[str, Blob], listed: bool, errors: list[ScanError]) -> None:
        self.repo, self.key, self.blobs, self.listed, self.errors = repo, key, blobs, listed, errors
        self.bdir = os.path.join(repo, "blobs")
        self.boundary = os.path.dirname(repo) + os.sep
        self.corruption: Counter[str] = Counter()
        self.used: set[str] = set()
        self.rev_keys: set[str] = set()
        self.rev_files = 0

    def begin_revision(self) -> None:
        """Start counting a new snapshot folder."""
        self.rev_keys, self.rev_files = set(), 0

    def link(self, path: str, target: str, depth: int) -> None:
        """A snapshot symlink: find its blob by name (fast path) or by normalised target."""
        prefix = _PREFIXES[depth] if depth < len(_PREFIXES) else ""
        name = target[len(prefix) :] if prefix and target.startswith(prefix) else ""
        if not name or "/" in name:
            full = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if not full.startswith(self.boundary):
                self.corruption["external_link"] += 1  # never followed out of the cache root
                return
            name = os.path.basename(full) if os.path.dirname(full) == self.bdir else full
        if name in self.blobs:
            self._use(name)
        elif self.listed and not os.path.isabs(name):
            self.corruption["broken_link"] += 1
        elif os.path.isabs(name) and not inside(self.boundary, name):  # out of the root through another link
            self.corruption["external_link"] += 1
        else:
            self._external(name, name)

    def file(self, path: str, rel: str) -> None:
        """A regular file inside a snapshot (symlink-less caches): it is its own blob."""
        self._external(path, rel)

    def _external(self, path: str, rel: str) -> None:
        try:
            st = os.stat(path)
        except OSError as exc:
            err = error_from_os(exc, rel)
            if err.kind == "vanished":
                self.corruption["broken_link"] += 1
            else:
                self.errors.append(err)
            return
        if stat.S_ISREG(st.st_mode):
            self.blobs[path] = (st.st_size, st.st_blocks * 512, st.st_mtime, True)
            self._use(path)

    def _use(self, name: str) -> None:
        self.rev_keys.add(name)
        self.used.add(name)
        self.rev_files += 1


def snapshot_entries(acc: RepoScan, corruption: Counter[str]) -> list[os.DirEntry[str]]:
    snaps = os.path.join(acc.repo, "snapshots")
    if not safe_dir(acc.boundary, snaps):
        corruption["external_link"] += 1  # snapshots/ is a link out of the cache root: not followed
        return []
    try:
        entries = sorted(os.scandir(snaps), key=lambda e: e.name)
    except FileNotFoundError:
        corruption["missing_snapshots"] += 1
        return []
    except OSError as exc:
        acc.errors.append(error_from_os(exc, f"{acc.key}/snapshots"))
        return []
    dirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
    corruption["snapshot_is_file"] += len(entries) - len(dirs)
    return dirs


def list_snapshots(acc: RepoScan, refs: dict[str, list[str]], corruption: Counter[str]) -> list[Revision]:
    """Revisions from folder names only (size pass): their file counts and sizes stay 0 until verified."""
    return [Revision(e.name, tuple(sorted(refs.pop(e.name, []))), 0, 0, 0.0) for e in snapshot_entries(acc, corruption)]


def scan_snapshots(acc: RepoScan, refs: dict[str, list[str]], corruption: Counter[str]) -> list[Revision]:
    """Revisions with every snapshot link read (link pass): exact files and sizes per revision."""
    revisions: list[Revision] = []
    for e in snapshot_entries(acc, corruption):
        acc.begin_revision()
        _walk_links(acc, e.path, f"{acc.key}/snapshots/{e.name}")
        size = sum([acc.blobs[k][0] for k in acc.rev_keys])
        mtime = max([acc.blobs[k][2] for k in acc.rev_keys], default=0.0)
        revisions.append(Revision(e.name, tuple(sorted(refs.pop(e.name, []))), acc.rev_files, size, mtime))
    return revisions


def _walk_links(acc: RepoScan, rev_path: str, rel: str) -> None:
    """`walk_revision` into `acc`, with the common link (`../../blobs/<listed blob>`) counted inline: this
    loop runs once per file of the cache."""
    blobs, used, keys, readlink = acc.blobs, acc.used, acc.rev_keys, os.readlink
    stack = [(rev_path, rel, 0)]
    while stack:
        path, rpath, depth = stack.pop()
        prefix = _PREFIXES[depth] if depth < len(_PREFIXES) else "\0"
        cut = len(prefix)
        try:
            with os.scandir(path) as it:
                for i, e in enumerate(it, 1):
                    if not i % quiet.EVERY:
                        quiet.pause_within()
                    if e.is_symlink():
                        try:
                            target = readlink(e.path)
                        except OSError as exc:
                            acc.errors.append(error_from_os(exc, f"{rpath}/{e.name}"))
                            continue
                        name = target[cut:]
                        if target.startswith(prefix) and name in blobs and "/" not in name:
                            keys.add(name)
                            used.add(name)
                            acc.rev_files += 1
                        else:
                            acc.link(e.path, target, depth)
                    elif e.is_dir(follow_symlinks=False):
                        stack.append((e.path, f"{rpath}/{e.name}", depth + 1))
                    else:
                        acc.file(e.path, f"{rpath}/{e.name}")
        except OSError as exc:
            acc.errors.append(error_from_os(exc, rpath))


def read_refs(repo: str, key: str, errors: list[ScanError]) -> dict[str, list[str]]:
    """`refs/**` -> {commit: [ref names]}."""
    refs: dict[str, list[str]] = {}
    top = os.path.join(repo, "refs")
    root = os.path.dirname(repo)
    if not safe_dir(root, top):
        return refs
    for dirpath, _dirs, files in os.walk(top, onerror=lambda e: _walk_error(e, top, key, errors)):
        for fname in files:
            path = os.path.join(dirpath, fname)
            name = os.path.relpath(path, top).replace(os.sep, "/")
            try:
                data = read_head(path, 256, root)  # a FIFO planted here must not block the scan
            except OSError as exc:
                errors.append(error_from_os(exc, f"{key}/refs/{name}"))
                continue
            if data is not None:
                refs.setdefault(data.decode("utf-8", "replace"), []).append(name)
    return refs


def _walk_error(exc: OSError, top: str, key: str, errors: list[ScanError]) -> None:
    if not (isinstance(exc, FileNotFoundError) and exc.filename == top):
        rel = os.path.relpath(str(exc.filename), os.path.dirname(top)) if exc.filename else key
        errors.append(error_from_os(exc, f"{key}/{rel}"))


def count_files(top: str) -> int:
    """Files under folder `top` (0 when it is missing, unreadable or a link: not followed)."""
    try:
        first = os.scandir(top)  # most repos have no `.no_exist`: one failed call, no walk
    except OSError:
        return 0
    first.close()
    if os.path.islink(top):
        return 0
    return sum(len(files) for _dirpath, _dirs, files in os.walk(top))


def single_snapshot_match(repo: str) -> tuple[str, int] | None:
    """The link pass of a repo of the common shape, without a `stat`: one snapshot folder whose entries are
    all links `../(../)*blobs/<name>`, one to each regular blob of `blobs/`. Then `(commit, blobs)`: the size
    pass report was exact, its one revision holding every blob. None for any other shape (or any error): the
    repo is then read in full."""
    names: set[str] = set()
    if os.path.islink(os.path.join(repo, "blobs")) or os.path.islink(os.path.join(repo, "snapshots")):
        return None  # followed only within the root: the full scan checks that
    try:
        with os.scandir(os.path.join(repo, "blobs")) as it:
            for e in it:
                if e.is_symlink() or not e.is_file(follow_symlinks=False):
                    return None  # a shared store's link, or something odd: read in full
                if not e.name.startswith(".") and not e.name.endswith(".incomplete"):
                    names.add(e.name)
        snaps = [e for e in os.scandir(os.path.join(repo, "snapshots"))]
    except OSError:
        return None
    if len(snaps) != 1 or not snaps[0].is_dir(follow_symlinks=False) or not names:
        return None
    seen = _links_to(snaps[0].path, names)
    if seen is None:
        return None
    return (snaps[0].name, len(seen)) if seen == names else None


def _links_to(top: str, names: set[str]) -> set[str] | None:
    """The blob names the links under folder `top` point to, each at most once; None when an entry is not a
    link `../(../)*blobs/<one of names>` or a name is linked twice (or on any error). Each folder is opened
    once and each link read by its name in it (`readlink(name, dir_fd)`: no path walk per link)."""
    seen: set[str] = set()
    stack = [(top, 0)]
    readlink, flags = os.readlink, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        while stack:
            path, depth = stack.pop()
            prefix = _PREFIXES[depth] if depth < len(_PREFIXES) else "\0"
            cut, fd = len(prefix), os.open(path, flags)
            try:
                with os.scandir(fd) as it:
                    for i, e in enumerate(it, 1):
                        if not i % quiet.EVERY:
                            quiet.pause_within()
                        if e.is_dir(follow_symlinks=False):
                            stack.append((os.path.join(path, e.name), depth + 1))
                            continue
                        target = readlink(e.name, dir_fd=fd) if e.is_symlink() else ""
                        blob = target[cut:]
                        if not target.startswith(prefix) or blob not in names or blob in seen:
                            return None
                        seen.add(blob)
            finally:
                os.close(fd)
    except OSError:
        return None
    return seen
