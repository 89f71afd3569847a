"""Telling a log rotation from a restart: was the old content kept next to the file?

logrotate's `copytruncate` copies the log (to `webui.log.1`, `webui.log-20250101`, ...) and then
truncates it in place; a rename rotation (logrotate's `create`, Docker's json-file, the kubelet) moves
the old file to such a name and creates a new one. A restart (`python webui.py > webui.log`) truncates
or replaces the file and keeps nothing. So a truncated or replaced log counts as rotated when a file
next to it (same directory, a name that starts with the log's name, changed within RECENT seconds) is
the old file itself (same device and inode) or holds the old content: the same first bytes (up to
256, the head fingerprint) and the same bytes just before the offset read so far. gzip copies are
read through (up to MAX_UNZIP bytes). Recent-only, because every start prints the same first lines:
a copy left by an older rotation must not make a restart look like one.

At start, `moved()` finds a file that was renamed while the exporter was down (same device and inode,
in the same directory), so the rest of it is read from the saved offset.

Not seen: copies in another directory (logrotate's `olddir`), and a copy compressed and removed before
the next poll by a compressor other than gzip.
"""

from __future__ import annotations

import gzip
import os
import stat
import time
import zlib
from dataclasses import dataclass
from typing import BinaryIO

RECENT = 60.0
MAX_CANDIDATES = 16
MAX_UNZIP = 64 << 20


@dataclass(frozen=True)
class OldContent:
    """What was read of a file before it was truncated or replaced."""

    ident: tuple[int, int]
    head: bytes  # its first bytes (up to 256)
    tail: bytes  # the bytes just before `offset`
    offset: int  # bytes read


def _holds(path: str, old: OldContent) -> bool:
    """True when the file at `path` starts with the old head and has the old tail at the old offset."""
    if not old.head or old.offset < len(old.tail):
        return False
    opener = gzip.open if path.endswith(".gz") else open
    if opener is gzip.open and old.offset > MAX_UNZIP:
        return False
    try:
        with opener(path, "rb") as fh:
            f: BinaryIO = fh  # type: ignore[assignment]
            if f.read(len(old.head)) != old.head:
                return False
            f.seek(old.offset - len(old.tail))
            return f.read(len(old.tail)) == old.tail
    except (OSError, EOFError, zlib.error):
        return False


def kept_nearby(path: str, old: OldContent) -> bool:
    """True when the old file or a copy of its content is next to `path` (see the module docstring)."""
    directory, name = os.path.split(path)
    try:
        entries = [e for e in os.scandir(directory or ".") if e.name != name and e.name.startswith(name)]
    except OSError:
        return False
    now, candidates = time.time(), 0
    for entry in entries:
        try:
            st = entry.stat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or now - st.st_ctime > RECENT:
            continue
        if (st.st_dev, st.st_ino) == old.ident:
            return True
        candidates += 1
        if candidates > MAX_CANDIDATES:
            return False
        if _holds(entry.path, old):
            return True
    return False


def moved(path: str, ident: tuple[int, int]) -> str | None:
    """Where the file `ident`, once at `path`, is now in the same directory (a rename rotation while the
    exporter was down: `<name>.1`, `<name>-20250101`, ...); None when it is gone or compressed. Inodes
    come from the directory entries, so only a match is stat()ed."""
    directory, name = os.path.split(path)
    try:
        with os.scandir(directory or ".") as it:
            hits = [e for e in it if e.inode() == ident[1]]
    except OSError:
        return None
    hits.sort(key=lambda e: (e.name != name, not e.name.startswith(name), e.name))
    for entry in hits:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == ident:
            return entry.path
    return None
