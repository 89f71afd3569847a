"""The log monitor: one background thread tails and parses every source; an optional second thread
watches the web UI process and probes its readiness. Scrapes only read the `LogSnapshot` the
threads publish after each round and each process or probe change; they never take the lock.

Positions are saved to `<state>/logs/positions.json` every `flush_interval` seconds (1 s by
default, only when one changed) and on stop, so a restarted exporter continues after the last
complete line it processed: at-least-once. A crash (SIGKILL, OOM) repeats up to `flush_interval`
seconds of lines and loses none; a clean stop repeats none.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelcache_exporter.logs.downloads import DownloadTracker
from modelcache_exporter.logs.emit import Emitter
from modelcache_exporter.logs.events import Listener
from modelcache_exporter.logs.loadtime import LoadTracker
from modelcache_exporter.logs.rules.sources import LogSourceConfig, PatternConfig, build_table
from modelcache_exporter.logs.runner import RunnerSink, SourceRunner, TailOptions
from modelcache_exporter.logs.shared import Shared
from modelcache_exporter.logs.snapshot import AppView, DownloadView, LoadView, LogSnapshot
from modelcache_exporter.logs.stats import DownloadStats, LabelCap, WebuiStats
from modelcache_exporter.logs.tail.positions import PositionStore

if TYPE_CHECKING:
    from modelcache_exporter.webui.watcher import WebuiWatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorSettings:
    """Tuning of the monitor (from `Config`, see `config.py` for the flags)."""

    poll_interval: float = 0.25
    max_line: int = 65536
    max_repos: int = 50
    read_backlog: bool = True
    rotate_wait: float = 5.0
    flush_interval: float = 1.0
    state_dir: str = ""
    process_pattern: str = ""
    ready_url: str = ""
    webui_interval: float = 1.0
    ready_timeout: float = 2.0


class LogMonitor:
    """Log sources, their parsers and the web UI's load state."""

    def __init__(
        self,
        sources: Sequence[LogSourceConfig],
        patterns: Sequence[PatternConfig] = (),
        settings: MonitorSettings | None = None,
        stdin_fd: int = 0,
    ) -> None:
        self.settings = s = settings or MonitorSettings()
        self.lock = threading.Lock()
        self.emitter = Emitter()
        self.load = LoadTracker(self.emitter)
        self.downloads = DownloadTracker(DownloadStats(LabelCap(s.max_repos)), self.emitter)
        self.webui = WebuiStats()
        self.load.on_begin.append(self.downloads.abort_all)
        self.shared = Shared(self.emitter, self.downloads, self.load, self.webui)
        self.store = PositionStore(os.path.join(s.state_dir, "logs", "positions.json")) if s.state_dir else None
        saved = self.store.load() if self.store else {}
        sink = RunnerSink(self.lock, self.shared, self.deliver)
        tail = TailOptions(s.max_line, s.read_backlog, s.rotate_wait)
        self.runners = [
            SourceRunner(cfg, build_table(cfg, patterns), sink, tail, saved.get(cfg.name, []), stdin_fd)
            for cfg in sources
        ]
        self._snapshot = self._capture(0)
        self.watcher: WebuiWatcher | None = None
        if s.process_pattern or s.ready_url:
            from modelcache_exporter.webui.watcher import (
                WebuiWatcher,  # psutil and requests only when there is something to watch
            )

            self.watcher = WebuiWatcher(
                s.process_pattern, s.ready_url, s.webui_interval, s.ready_timeout, self._on_process, self._on_probe
            )
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logs", daemon=True)

    def add_listener(self, fn: Listener, kinds: Iterable[str] | None = None) -> None:
        """Call `fn(event)` for every `LogEvent` (or only those of `kinds`), on the monitor's threads."""
        with self.lock:
            self.emitter.add(fn, kinds)

    def deliver(self) -> None:
        """Hand the queued events to the listeners (outside the lock)."""
        with self.lock:
            events = self.emitter.take()
        self.emitter.deliver(events)

    @property
    def snapshot(self) -> LogSnapshot:
        """The state last published (read without the lock: it is replaced whole, never changed)."""
        return self._snapshot

    def _capture(self, generation: int) -> LogSnapshot:
        """A frozen copy of the state (under the lock, or before the threads start)."""
        return LogSnapshot(
            generation,
            tuple(r.view() for r in self.runners),
            DownloadView.of(self.downloads),
            LoadView.of(self.load),
            AppView.of(self.webui),
        )

    def publish(self) -> None:
        """Replace the snapshot with the current state."""
        with self.lock:
            self._snapshot = self._capture(self._snapshot.generation + 1)

    def poll_once(self, now: float | None = None) -> None:
        """Read every source once and publish the result (the thread's loop body; tests call it)."""
        for runner in self.runners:
            runner.poll(time.time() if now is None else now)
        self.publish()
        self.deliver()

    def save_positions(self) -> None:
        """Persist where each source stopped."""
        if self.store is not None:
            positions = {r.cfg.name: r.tailer.positions() for r in self.runners if not r.cfg.stdin}
            self.store.save(positions)

    def _run(self) -> None:
        next_flush = time.monotonic() + self.settings.flush_interval
        while not self._halt.is_set():
            t0 = time.monotonic()
            try:
                self.poll_once()
                if t0 >= next_flush:
                    self.save_positions()
                    next_flush = t0 + self.settings.flush_interval
            except Exception:
                log.exception("log monitor round failed; continuing")
            self._halt.wait(max(0.0, self.settings.poll_interval - (time.monotonic() - t0)))

    def _on_process(self, found: tuple[int, float] | None, watch_start: float, now: float) -> None:
        with self.lock:
            if found is None:
                self.load.process_gone(now)
            else:
                self.load.process_seen(found[0], found[1], before_watch=found[1] < watch_start)
        self.publish()
        self.deliver()

    def _on_probe(self, ok: bool, sent: float) -> None:
        with self.lock:
            self.load.probe(ok, sent)
        self.publish()
        self.deliver()

    def start(self) -> None:
        """Start the threads."""
        if self.watcher is not None and self.settings.process_pattern and not (self.runners or self.settings.ready_url):
            log.warning("web UI process pattern without a log or ready URL: loads will never be seen to end")
        if self.runners:
            self._thread.start()
        if self.watcher is not None:
            self.watcher.start()

    def stop(self) -> None:
        """Stop the threads, save positions, close files."""
        self._halt.set()
        if self.watcher is not None:
            self.watcher.stop()
        if self._thread.is_alive():
            self._thread.join(5.0)
        self.save_positions()
        for runner in self.runners:
            runner.tailer.close()
