"""One open log file, identified by (device, inode): reading, truncation, and its saved position.

The position saved is the end of the last COMPLETE line, so a partial line is read again after a
restart; it is valid only while the file's identity, its head (first bytes) and the bytes just
before the offset are unchanged. Truncation is detected when the file shrinks below the read
offset, or when the bytes just before that offset changed (a copytruncate followed by fast
writes that grew the file past the old offset again).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from modelcache_exporter.logs.tail.assemble import LineAssembler
from modelcache_exporter.logs.tail.decode import Decoder
from modelcache_exporter.logs.tail.rotation import OldContent

CHUNK = 65536
HEAD = 256
TAIL = 32


@dataclass(frozen=True)
class Position:
    """Where reading stopped in one file (persisted in the state directory)."""

    path: str
    dev: int
    ino: int
    offset: int
    head: str = ""
    head_len: int = 0
    tail: str = ""


@dataclass
class Chunk:
    """Lines completed by one read. `timed` is False for backlog (time = file mtime, an upper bound)."""

    lines: list[bytes]
    time: float
    timed: bool
    nbytes: int
    truncated: int = 0


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


class Follower:
    """Reads one file from an offset; `read()` returns the chunks that are available now."""

    def __init__(self, path: str, fd: int, start: int, backlog_until: int, cap: int) -> None:
        st = os.fstat(fd)
        self.path, self.fd, self.cap = path, fd, cap
        self.ident = (st.st_dev, st.st_ino)
        self.read_off = self.consumed = start
        self.backlog_until = backlog_until
        self.mtime = st.st_mtime
        self.asm = LineAssembler(cap)
        self.tail = os.pread(fd, min(TAIL, start), start - min(TAIL, start)) if start else b""
        self.head = os.pread(fd, min(HEAD, start), 0) if start else b""  # first bytes read: a copy's fingerprint
        self.consumed_tail = self.tail
        self.format = ""
        self.decoder: Decoder | None = None

    @classmethod
    def open(cls, path: str, cap: int, saved: Position | None, mode: str) -> Follower:
        """Open `path`. mode: `resume` (saved position), `backlog` or `end` (first sight), `new` (live)."""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            size = os.fstat(fd).st_size
            if saved is not None and verify(fd, saved, size):
                return cls(path, fd, saved.offset, size, cap)
            if mode == "end":
                return cls(path, fd, _line_start(fd, size, cap), 0, cap)
            return cls(path, fd, 0, size if mode in ("backlog", "resume") else 0, cap)
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def resume(cls, path: str, cap: int, saved: Position) -> Follower | None:
        """Open `path` at `saved` only if it is that file, unchanged up to the offset (else None)."""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            size = os.fstat(fd).st_size
            if verify(fd, saved, size):
                return cls(path, fd, saved.offset, size, cap)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        return None

    def truncated(self) -> bool:
        """True when the file was truncated (or rewritten) under the read offset."""
        size = os.fstat(self.fd).st_size
        if size < self.read_off:
            return True
        if not self.tail or size == self.read_off:
            return False
        return os.pread(self.fd, len(self.tail), self.read_off - len(self.tail)) != self.tail

    def restart(self) -> list[bytes]:
        """After a truncation: read again from 0 (live); returns the held partial line as a final line."""
        rest = self.asm.flush()
        self.read_off = self.consumed = self.backlog_until = 0
        self.tail = self.consumed_tail = self.head = b""
        return rest

    def read(self, now: float) -> Iterator[Chunk]:
        """Everything readable now, in chunks of at most CHUNK bytes (backlog and live never mixed)."""
        while True:
            limit = CHUNK
            backlog = self.read_off < self.backlog_until
            if backlog:
                limit = min(CHUNK, self.backlog_until - self.read_off)
            data = os.pread(self.fd, limit, self.read_off)
            if not data:
                return
            before = self.tail
            if len(self.head) == self.read_off < HEAD:
                self.head += data[: HEAD - self.read_off]
            self.read_off += len(data)
            self.tail = data[-TAIL:] if len(data) >= TAIL else (before + data)[-TAIL:]
            seen = self.asm.truncated
            lines = self.asm.feed(data)
            if lines:
                self.consumed = self.read_off - len(self.asm.pending)
                self.consumed_tail = (before + data[: data.rfind(b"\n") + 1])[-TAIL:]
            when, timed = (self.mtime, False) if backlog else (now, True)
            yield Chunk(lines, when, timed, len(data), self.asm.truncated - seen)

    def old_content(self) -> OldContent:
        """What was read so far (to recognise a copy of it after a truncation or a rename)."""
        return OldContent(self.ident, self.head, self.tail, self.read_off)

    def finish(self) -> list[bytes]:
        """Close the file; its partial last line is returned as a final line."""
        rest = self.asm.flush()
        os.close(self.fd)
        self.fd = -1
        return rest

    def position(self) -> Position:
        """The saved form: offset of the last complete line, head digest, bytes before the offset."""
        head = os.pread(self.fd, min(HEAD, self.consumed), 0) if self.fd >= 0 else b""
        return Position(
            self.path, self.ident[0], self.ident[1], self.consumed, _digest(head), len(head), self.consumed_tail.hex()
        )


def verify(fd: int, saved: Position, size: int) -> bool:
    """True when an opened file is the one `saved` describes, unchanged up to its offset."""
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (saved.dev, saved.ino) or saved.offset > size:
        return False
    if saved.head_len and _digest(os.pread(fd, saved.head_len, 0)) != saved.head:
        return False
    tail = bytes.fromhex(saved.tail)
    return not tail or os.pread(fd, len(tail), saved.offset - len(tail)) == tail


def _line_start(fd: int, size: int, cap: int) -> int:
    """The offset after the last `\\n` before `size` (start at the end without a partial line)."""
    window = min(size, cap)
    data = os.pread(fd, window, size - window)
    cut = data.rfind(b"\n")
    return size - window + cut + 1 if cut >= 0 else size
