"""Following what a log source names: a path or a glob (files keyed by identity), or standard input.

Each poll: expand the path or glob and stat each match (symlinks followed); files are keyed by
(device, inode), so a renamed file keeps its reader and offset. Then, in this order: files whose
identity no longer matches any path (renamed away, deleted, symlink switched) are drained and kept
for `rotate_wait` seconds (a writer that never reopens still writes there); the files still
matched are read (after a truncation check); new identities are opened. A path whose identity
changed is a rotation; a new path while running is a created file; both, and truncations, are
reported to the sink (a load may have started, unless the old content was kept next to the file: see
rotation.py) and read from offset 0 as live lines.

At start, a saved file that is no longer at its path but was renamed next to it (rotated while the
exporter was down, e.g. to `<name>.1`) is read from its saved offset first, as a retired file; then the
new file at that path is read from its start (as backlog, even without `read_backlog`: all of it was
written after the saved position). Retired files' positions are saved too, so a crash while one is
drained resumes it the same way.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Sequence
from typing import Protocol

from modelcache_exporter.logs.tail.assemble import LineAssembler
from modelcache_exporter.logs.tail.decode import Decoder
from modelcache_exporter.logs.tail.follow import Chunk, Follower, Position
from modelcache_exporter.logs.tail.rotation import OldContent, kept_nearby, moved

Ident = tuple[int, int]
SKIP_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4")
MAX_FILES = 64


class Reader(Protocol):
    """What the sink sees of a file or stream: its format state and its partial line."""

    path: str
    format: str
    decoder: Decoder | None
    asm: LineAssembler


class Sink(Protocol):
    """Receives what a tailer reads."""

    def chunk(self, reader: Reader, chunk: Chunk) -> None: ...

    def idle(self, reader: Reader, now: float) -> None: ...

    def notice(self, kind: str, when: float, kept: bool) -> None: ...

    def failure(self, path: str, error: OSError) -> None: ...


def emit_rest(reader: Reader, rest: list[bytes], now: float, sink: Sink) -> None:
    """Hand a flushed partial line (end of a file or stream) to the sink as a final line."""
    if rest:
        sink.chunk(reader, Chunk(rest, now, True, 0))


class FileTailer:
    """Follows the files of one path or glob."""

    def __init__(
        self, pattern: str, cap: int, read_backlog: bool, rotate_wait: float, saved: Sequence[Position] = ()
    ) -> None:
        self.pattern = os.path.expanduser(pattern)
        self.is_glob = glob.has_magic(self.pattern)
        self.cap, self.read_backlog, self.rotate_wait = cap, read_backlog, rotate_wait
        self.active: dict[Ident, Follower] = {}
        self.retired: list[tuple[Follower, float]] = []
        self.at_path: dict[str, Ident] = {}
        self.saved = {(p.dev, p.ino): p for p in saved}
        self.failing: dict[str, int] = {}
        self.recovered: set[str] = set()
        self.first = True

    def _scan(self, sink: Sink) -> dict[Ident, str]:
        paths = sorted(glob.glob(self.pattern)) if self.is_glob else [self.pattern]
        found: dict[Ident, str] = {}
        for path in paths:
            if path.endswith(SKIP_SUFFIXES) or len(found) >= MAX_FILES:
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                self._fail(sink, path, exc)
                continue
            if stat.S_ISREG(st.st_mode):
                found.setdefault((st.st_dev, st.st_ino), path)
        return found

    def poll(self, now: float, sink: Sink) -> None:
        """One round: scan, drain retired files, read matched ones, open new ones."""
        found = self._scan(sink)
        if self.first:
            self._recover(found, now, sink)
        for ident in [i for i in self.active if i not in found]:
            self.retired.append((self.active.pop(ident), now + self.rotate_wait))
        kept = []
        for f, deadline in self.retired:
            if f.ident in found:
                self.active[f.ident] = f
                continue
            self._read(f, now, sink)
            if now >= deadline:
                self._emit_rest(f, f.finish(), now, sink)
            else:
                kept.append((f, deadline))
        self.retired = kept
        for ident, f in list(self.active.items()):
            f.path = found[ident]
            self._read(f, now, sink)
        for ident, path in found.items():
            if ident not in self.active:
                self._open(ident, path, now, sink)
        if len(self.at_path) > 4 * MAX_FILES:
            self.at_path = {}
        self.at_path.update({p: i for i, p in found.items() if i in self.active})  # files read, not just seen
        self.first = False

    def _recover(self, found: dict[Ident, str], now: float, sink: Sink) -> None:
        """Saved files renamed away while the exporter was down: drain them from the saved offset."""
        for ident, saved in self.saved.items():
            where = None if ident in found else moved(saved.path, ident)
            if where is None:
                continue
            try:
                f = Follower.resume(where, self.cap, saved)
            except OSError as exc:
                self._fail(sink, where, exc)
                continue
            if f is not None:
                self.retired.append((f, now + self.rotate_wait))
                self.recovered.add(saved.path)
                sink.notice("rotated", now, True)

    def _open(self, ident: Ident, path: str, now: float, sink: Sink) -> None:
        saved = self.saved.get(ident) if self.first else None
        from_start = self.read_backlog or path in self.recovered
        mode = "new" if not self.first else "resume" if saved else "backlog" if from_start else "end"
        try:
            f = Follower.open(path, self.cap, saved, mode)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._fail(sink, path, exc)
            return
        self.active[f.ident] = f
        if not self.first:
            old = self.at_path.get(path)
            kept = old is not None and kept_nearby(path, self._old_content(old))
            sink.notice("rotated" if old is not None else "created", now, kept)
        self._read(f, now, sink)

    def _read(self, f: Follower, now: float, sink: Sink) -> None:
        try:
            if f.truncated():
                kept = kept_nearby(f.path, f.old_content())
                self._emit_rest(f, f.restart(), now, sink)
                sink.notice("truncated", now, kept)
            for chunk in f.read(now):
                sink.chunk(f, chunk)
            sink.idle(f, now)
            self.failing.pop(f.path, None)
        except OSError as exc:
            self._fail(sink, f.path, exc)

    def _old_content(self, ident: Ident) -> OldContent:
        """What was read of the file that was at a path before (its identity only, once closed)."""
        for f in [*self.active.values(), *(r for r, _ in self.retired)]:
            if f.ident == ident:
                return f.old_content()
        return OldContent(ident, b"", b"", 0)

    @staticmethod
    def _emit_rest(reader: Reader, rest: list[bytes], now: float, sink: Sink) -> None:
        emit_rest(reader, rest, now, sink)

    def _fail(self, sink: Sink, path: str, exc: OSError) -> None:
        if self.failing.get(path) != exc.errno:
            self.failing[path] = exc.errno or 0
            sink.failure(path, exc)

    def positions(self) -> list[Position]:
        """Saved forms of the files being read (retired ones too: a restart finds them renamed)."""
        out = []
        for f in [*self.active.values(), *(r for r, _ in self.retired)]:
            try:
                out.append(f.position())
            except OSError:
                continue
        return out

    def close(self) -> None:
        """Close every file (partial lines are dropped: they are read again after a restart)."""
        for f in [*self.active.values(), *(r for r, _ in self.retired)]:
            os.close(f.fd)
        self.active.clear()
        self.retired.clear()
