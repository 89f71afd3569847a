"""Hashing one file as its cache names it, under an IO budget, without ever opening it for writing.

The file is read in 1 MiB blocks (hashlib releases the GIL on blocks this large) with O_NOATIME where the
kernel allows it (reading leaves no trace on the cache). The budget is a token bucket shared by every file a
pass reads: at most `rate` bytes a second on average, with bursts of one second's worth.
"""

from __future__ import annotations

import hashlib
import os
import time

BLOCK = 1 << 20


class Budget:
    """Bytes a second a pass may read (0: no limit); `take(n)` sleeps until `n` more bytes are allowed."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = 0.0
        self._last = time.monotonic()
        self.read = 0

    def take(self, n: int) -> None:
        """Account for `n` bytes read, sleeping first as long as the budget requires."""
        self.read += n
        if self.rate <= 0:
            return
        now = time.monotonic()
        self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= n
        if self._tokens < 0:
            time.sleep(-self._tokens / self.rate)
            self._last = time.monotonic()
            self._tokens = 0.0


def _open(path: str) -> int:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags | getattr(os, "O_NOATIME", 0))
    except PermissionError:  # O_NOATIME needs the file's owner (or CAP_FOWNER)
        return os.open(path, flags)


def digest(path: str, algo: str, budget: Budget) -> tuple[str, int]:
    """(the hex digest of the file as `algo` names files, bytes read); OSError when it cannot be read.

    `sha256`: of the content; `git-sha1`: git's blob id, `sha1(b"blob <size>\\0" + content)`."""
    fd = _open(path)
    try:
        size = os.fstat(fd).st_size
        h = hashlib.sha256() if algo == "sha256" else hashlib.sha1(b"blob %d\0" % size)
        done = 0
        while block := os.read(fd, BLOCK):
            h.update(block)
            done += len(block)
            budget.take(len(block))
        return h.hexdigest(), done
    finally:
        os.close(fd)
