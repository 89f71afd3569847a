"""Reading what a cache holds without trusting it: small bookkeeping files (refs, `.metadata`, the store
marker) and folders that may be symlinks.

- A FIFO, socket or device planted where a small file is expected would block `open()` for ever (a FIFO
  waits for a writer) and with it the root's index: files are opened non-blocking and read only when they
  are regular files.
- Symlinks are never followed out of the cache root: a link whose target resolves outside it is not
  read (files) or not entered (folders); inside the root it is followed, as the libraries do.
"""

from __future__ import annotations

import errno
import os
import stat


def inside(root: str, path: str) -> bool:
    """Whether `path`, all symlinks resolved, lies within `root` (itself resolved: a root may be a symlink)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def lexically_inside(root: str, base: str, target: str) -> bool:
    """Whether a relative symlink `target` found in folder `base` stays within `root` by its text alone (cheap:
    no system call; for the shared store's links, whose folders are checked once by `safe_dir`)."""
    full = os.path.normpath(os.path.join(base, target))
    return full.startswith(os.path.normpath(root).rstrip(os.sep) + os.sep)


def safe_dir(root: str, path: str) -> bool:
    """Whether a folder may be entered: not a symlink, or one that resolves within the root."""
    return not os.path.islink(path) or inside(root, path)


def read_head(path: str, limit: int, root: str = "") -> bytes | None:
    """Up to `limit` bytes from the start of a regular file; None for a symlink leaving `root` (not followed).

    Raises OSError when the file cannot be read, including EINVAL for something that is not a regular file
    (never blocking on it)."""
    if root and os.path.islink(path) and not inside(root, path):
        return None
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        return os.read(fd, limit)
    finally:
        os.close(fd)
