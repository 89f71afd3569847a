"""Standard input as a log source: read without blocking from the monitor's thread; every line is
live (read as written); at end of input the partial last line counts as a line."""

from __future__ import annotations

import os
import select

from modelcache_exporter.logs.tail.assemble import LineAssembler
from modelcache_exporter.logs.tail.decode import Decoder
from modelcache_exporter.logs.tail.follow import CHUNK, Chunk, Position
from modelcache_exporter.logs.tail.tailer import Sink, emit_rest

MAX_CHUNKS_PER_POLL = 1024


class StdinTailer:
    """Reads a file descriptor (standard input) without blocking; all lines are live."""

    def __init__(self, cap: int, fd: int = 0) -> None:
        self.path, self.fd = "-", fd
        self.format = ""
        self.decoder: Decoder | None = None
        self.asm = LineAssembler(cap)
        self.eof = False

    def poll(self, now: float, sink: Sink) -> None:
        """Read what is available (bounded per poll); at end of input the partial line is final."""
        for _ in range(MAX_CHUNKS_PER_POLL):
            if self.eof or not select.select([self.fd], [], [], 0)[0]:
                break
            try:
                data = os.read(self.fd, CHUNK)
            except OSError as exc:
                sink.failure(self.path, exc)
                self.eof = True
                break
            if not data:
                self.eof = True
                emit_rest(self, self.asm.flush(), now, sink)
                break
            seen = self.asm.truncated
            lines = self.asm.feed(data)
            sink.chunk(self, Chunk(lines, now, True, len(data), self.asm.truncated - seen))
        sink.idle(self, now)

    def positions(self) -> list[Position]:
        """Standard input has no position."""
        return []

    def close(self) -> None:
        """Nothing to close: the descriptor belongs to the process."""
