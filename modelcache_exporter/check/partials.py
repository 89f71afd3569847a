"""Partial downloads in words: which repo and file, how far, and whether a process is writing it now.

- hf-hub: `<repo>/blobs/<etag>.<tmp>.incomplete`; its file name is on disk only when a snapshot link already
  points at that blob (a file fetched again after its blob was lost), else it is named when it lands. The
  download holds `.locks/<repo>/<etag>.lock`.
- hf-local-dir: `.cache/huggingface/download/<dir>/<hash>.<etag>.<tmp>.incomplete`, where `<hash>` is the
  url-safe base64 SHA-1 of `<file>.metadata`; the download holds `<dir>/<file>.lock` next to it.
- other layouts: the partial file's own name (`model.bin.part`, rsync's `.model.bin.XXXXXX`).

`/proc/locks` tells whether a lock is held now (by any process on this kernel).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from modelcache_exporter.check.words import age, short, size
from modelcache_exporter.ledger.artifacts import partial_hint
from modelcache_exporter.scan.model import IncompleteFile

LOCAL_META = os.path.join(".cache", "huggingface", "download")
RECENT = 60.0  # seconds: a partial file without a lock written this recently is taken as being written


@dataclass(frozen=True)
class PartialInfo:
    """One partial download as a person reads it."""

    path: str  # root-relative, as the index has it
    file: str  # the file it becomes ('' when not yet known; hub: with ' (revision abcd1234)')
    size_bytes: int
    active: bool  # a process is writing it now (lock held, or written within RECENT seconds when no lock)
    text: str


def snapshot_names(repo_dir: str) -> dict[str, str]:
    """{blob name: 'file (revision abcd1234)'} from the snapshot links of a hub repo (dangling ones included)."""
    out: dict[str, str] = {}
    top = os.path.join(repo_dir, "snapshots")
    for dirpath, _dirs, files in os.walk(top):
        for n in files:
            path = os.path.join(dirpath, n)
            try:
                target = os.readlink(path)
            except OSError:
                continue
            rel = os.path.relpath(path, top).split(os.sep, 1)
            if len(rel) == 2:
                out.setdefault(os.path.basename(target), f"{rel[1]} (revision {short(rel[0])})")
    return out


def _short_hash(name: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha1(name.encode()).digest()).decode()


def local_dir_name(root: str, rel: str) -> tuple[str, str]:
    """A local-dir partial's file (from the lock or metadata file next to it) and that lock file ('' if none)."""
    folder = os.path.dirname(os.path.join(root, rel))
    prefix = os.path.basename(rel).split(".", 1)[0]
    try:
        names = os.listdir(folder)
    except OSError:
        return "", ""
    for n in names:
        stem = n.removesuffix(".lock") if n.endswith(".lock") else n.removesuffix(".metadata")
        if stem != n and _short_hash(stem + ".metadata") == prefix:
            sub = os.path.relpath(folder, os.path.join(root, LOCAL_META))
            return os.path.normpath(os.path.join(sub, stem)), os.path.join(folder, stem + ".lock")
    return "", ""


def held(path: str, locks: set[tuple[int, int, int]]) -> bool:
    """Whether some process holds the lock file `path` now."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in locks


def name_and_lock(root: str, layout: str, f: IncompleteFile, links: dict[str, str]) -> tuple[str, str]:
    """The file a partial becomes ('' when unknown) and the lock its download holds ('' when none)."""
    if layout == "hf-hub":
        parts = f.path.split("/")
        if len(parts) == 3 and parts[1] == "blobs":
            etag = partial_hint(f.path, layout)
            return links.get(etag, ""), os.path.join(root, ".locks", parts[0], etag + ".lock")
        return "", ""
    if layout == "hf-local-dir" and f.path.startswith(LOCAL_META.replace(os.sep, "/") + "/"):
        return local_dir_name(root, f.path)
    return os.path.normpath(os.path.join(os.path.dirname(f.path), partial_hint(f.path, "plain"))), ""


Locks = set[tuple[int, int, int]]


def describe(
    root: str, layout: str, repo: str, f: IncompleteFile, ctx: tuple[dict[str, str], Locks, float]
) -> PartialInfo:
    """One partial download of model `repo`: `ctx` is (snapshot link names, held locks, now)."""
    links, locks, now = ctx
    name, lock = name_and_lock(root, layout, f, links)
    blob = short(partial_hint(f.path, layout))
    what = name or f"a file not named yet (blob {blob}, named when it completes)"
    so_far = f"{size(f.size_bytes)} written, the last {age(now - f.mtime)} ago"
    if lock:
        active = held(lock, locks)
        how = (
            "being downloaded now (a process holds its lock)"
            if active
            else ("download interrupted (no process holds its lock), the next download fetches it again")
        )
    else:
        active = now - f.mtime < RECENT
        how = "being written now" if active else "not written for a while, interrupted or stalled"
    return PartialInfo(f.path, name.split(" (revision ")[0], f.size_bytes, active, f"{repo}: {what}: {how}; {so_far}")
