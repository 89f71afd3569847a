"""Which file holds an artifact: its inode and a stamp that changes when the file is created anew.

An inode number alone is no identity: ext4 hands a freed inode to the next file created, so a repo
deleted and downloaded again while the exporter was down can come back on the very same inode numbers.
The stamp is the file's birth time (statx `stx_btime`, in nanoseconds), set when the inode is created
and changed by nothing else (not chmod, chown, rename or a new hard link). Where the kernel or the
filesystem gives no birth time, the stamp is the modification time: a download writes its file, so
it gets a new mtime, while `chmod`/`chown` (a permission fix) leave it alone.
"""

from __future__ import annotations

import ctypes
import os
import struct
from typing import NamedTuple

_AT_FDCWD = -100
_STATX_INO, _STATX_MTIME, _STATX_BTIME = 0x100, 0x40, 0x800
# struct statx: u32 mask at 0, u64 ino at 32; timestamps {i64 sec; u32 nsec; i32 pad}: btime at 80, mtime at 112
_INO, _BTIME, _MTIME = 32, 80, 112
_BUFSIZE = 256


class FileId(NamedTuple):
    """The file an artifact is in now."""

    inode: int
    stamp: int  # birth time in ns where the filesystem keeps one, else mtime in ns; 0 when unknown


def _load_statx() -> object | None:
    try:
        fn = ctypes.CDLL(None, use_errno=True).statx
    except (OSError, AttributeError):  # no glibc/musl statx: fall back to the mtime
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn


_STATX = _load_statx()


def _ns(buf: ctypes.Array[ctypes.c_char], offset: int) -> int:
    sec, nsec = struct.unpack_from("qI", buf, offset)
    return int(sec) * 1_000_000_000 + int(nsec)


def file_id(path: str) -> FileId:
    """Inode and stamp of the file at `path` (symlinks followed), in one statx call where there is one.
    OSError when the file cannot be stat'ed."""
    return file_id_mtime(path)[0]


def file_id_mtime(path: str) -> tuple[FileId, float]:
    """`file_id` and the file's mtime (seconds) from the same call; OSError when it cannot be stat'ed."""
    if _STATX is None:
        st = os.stat(path)
        return FileId(st.st_ino, st.st_mtime_ns), st.st_mtime
    buf = ctypes.create_string_buffer(_BUFSIZE)
    if _STATX(_AT_FDCWD, os.fsencode(path), 0, _STATX_INO | _STATX_MTIME | _STATX_BTIME, buf) != 0:  # type: ignore[operator]
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    (mask,) = struct.unpack_from("I", buf, 0)
    (inode,) = struct.unpack_from("Q", buf, _INO)
    return FileId(int(inode), _ns(buf, _BTIME if mask & _STATX_BTIME else _MTIME)), _ns(buf, _MTIME) / 1e9


def same_file(was: FileId, now: FileId) -> bool:
    """Whether `now` is the file recorded as `was` (0 = not recorded: only the inode is compared)."""
    if was.inode and now.inode != was.inode:
        return False
    return not (was.stamp and now.stamp and now.stamp != was.stamp)
