"""One configured log source at run time: its tailer, its interpreter, its health counters.

Implements the tailer's `Sink` and writes to a `RunnerSink`: the lock and the shared state it
updates, and the delivery of queued events. It holds nothing of the monitor and never calls it.

The format of each file is detected from its first line when the source says `auto`; Docker and
CRI lines are decoded (with their own timestamps) before parsing. A partial plain line holding `\\r`
progress updates is peeked at once per change, so a download shows as started and in progress
before its line ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from modelcache_exporter.base.log import kv
from modelcache_exporter.logs.interpret import Interpreter
from modelcache_exporter.logs.rules.parse import detect_format
from modelcache_exporter.logs.rules.rules import Table
from modelcache_exporter.logs.rules.sources import LogSourceConfig
from modelcache_exporter.logs.shared import Shared
from modelcache_exporter.logs.snapshot import SourceView
from modelcache_exporter.logs.stats import SourceStats
from modelcache_exporter.logs.tail.decode import Decoder
from modelcache_exporter.logs.tail.follow import Chunk, Position
from modelcache_exporter.logs.tail.stdin import StdinTailer
from modelcache_exporter.logs.tail.tailer import FileTailer, Reader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerSink:
    """Where runners write: the lock guarding the shared state, that state (its load tracker hears of
    file resets), and `deliver()`, which hands the queued events to the listeners outside the lock."""

    lock: threading.Lock
    shared: Shared
    deliver: Callable[[], None]


@dataclass(frozen=True)
class TailOptions:
    """How a source's files are read (see `MonitorSettings`)."""

    max_line: int = 65536
    read_backlog: bool = True
    rotate_wait: float = 5.0


class SourceRunner:
    """Reads one source and feeds its lines to its interpreter, under the sink's lock."""

    def __init__(
        self,
        cfg: LogSourceConfig,
        table: Table,
        sink: RunnerSink,
        tail: TailOptions,
        saved: Sequence[Position] = (),
        stdin_fd: int = 0,
    ) -> None:
        self.cfg, self.sink, self.lock = cfg, sink, sink.lock
        self.cap = tail.max_line
        self.stats = SourceStats(table.profiles)
        self.interp = Interpreter(cfg.name, table, sink.shared, self.stats)
        self.tailer: FileTailer | StdinTailer = (
            StdinTailer(tail.max_line, stdin_fd)
            if cfg.stdin
            else FileTailer(cfg.path, tail.max_line, tail.read_backlog, tail.rotate_wait, saved)
        )
        self._peeked: dict[int, bytes] = {}
        self._custom = sorted({c.name for c in table.rules if c.action == "custom"})

    def files(self) -> int:
        """Files (or the input stream) being followed."""
        if isinstance(self.tailer, StdinTailer):
            return 0 if self.tailer.eof else 1
        return len(self.tailer.active)

    def custom_patterns(self) -> list[str]:
        """Names of this source's custom patterns of event kind `custom`."""
        return self._custom

    def view(self) -> SourceView:
        """A frozen copy of this source's health (call under the sink's lock)."""
        return SourceView.of(self.cfg.name, self.stats, self.files(), self._custom)

    def poll(self, now: float) -> None:
        """One round of the tailer; an unexpected error is logged and counted, never raised."""
        try:
            self.tailer.poll(now, self)
        except Exception:
            log.exception("log source failed this round", extra=kv(source=self.cfg.name))
            with self.lock:
                self.stats.read_errors += 1

    def _format(self, reader: Reader, lines: list[bytes]) -> str:
        if not reader.format:
            first = next((line for line in lines if line), b"")
            if not first:
                return "plain"
            reader.format = self.cfg.format if self.cfg.format != "auto" else detect_format(first)
            if reader.format in ("docker", "cri"):
                reader.decoder = Decoder(reader.format, self.cap)
        return reader.format

    def chunk(self, reader: Reader, chunk: Chunk) -> None:
        """Lines from a file or stream; their events are delivered at once (memory stays bounded
        by one chunk's events even when a long backlog is read in one round)."""
        self._chunk(reader, chunk)
        if self.sink.shared.emitter.pending:
            self.sink.deliver()

    def _chunk(self, reader: Reader, chunk: Chunk) -> None:
        with self.lock:
            st = self.stats
            st.bytes += chunk.nbytes
            st.lines_truncated += chunk.truncated
            if not chunk.lines:
                return
            decoder = reader.decoder if self._format(reader, chunk.lines) != "plain" else None
            if decoder is None:
                st.lines += len(chunk.lines)
                st.last_line_time = max(st.last_line_time, chunk.time)
                self.interp.feed(chunk.lines, chunk.time, chunk.timed)
                return
            before = decoder.truncated
            lines, times = decoder.decode(chunk.lines, chunk.time)
            st.lines_truncated += decoder.truncated - before
            st.lines += len(lines)
            if lines:
                st.last_line_time = max(st.last_line_time, times[-1])
                self.interp.feed_stamped(lines, times)

    def idle(self, reader: Reader, now: float) -> None:
        """The reader is at its end: peek at a partial progress line."""
        pending = reader.asm.pending
        key = id(reader)
        if not pending or b"\r" not in pending or reader.format not in ("plain", ""):
            self._peeked.pop(key, None)
            return
        if self._peeked.get(key) == pending[-64:]:
            return
        self._peeked[key] = bytes(pending[-64:])
        with self.lock:
            self.interp.peek(bytes(pending), now)

    def notice(self, kind: str, when: float, kept: bool) -> None:
        """A file was rotated, truncated or created while running (`kept`: its old content is next to
        it, so it was a log rotation, not a restart)."""
        with self.lock:
            if kind == "rotated":
                self.stats.rotations += 1
            elif kind == "truncated":
                self.stats.truncations += 1
            if not kept:
                self.sink.shared.load.file_reset(when)
        log.info("log file %s", kind, extra=kv(source=self.cfg.name, old_content_kept=kept))

    def failure(self, path: str, error: OSError) -> None:
        """A file could not be opened or read (logged once per problem, counted)."""
        with self.lock:
            self.stats.read_errors += 1
        log.warning("cannot read log file: %s", error.strerror or error, extra=kv(source=self.cfg.name, path=path))
