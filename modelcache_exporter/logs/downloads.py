"""Downloads seen in the log: started, progress, finished, failed, per (log, source, file name).

A download is keyed by the base name of its file (bars show `semantic_codec/model.safetensors`,
verbose lines the same name, `Download complete` the destination path, matched through the
`.incomplete` path it started with). A bar seen first at 100 % counts as started and finished; a
repeated final state (log collectors that turn each `\\r` update into a line) is not counted
twice. At most MAX_ACTIVE downloads are tracked; older ones are dropped from the in-progress
count (not counted as failed: nothing says they failed).
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from modelcache_exporter.logs import events as ev
from modelcache_exporter.logs.emit import Emitter
from modelcache_exporter.logs.rules.parse import basename, parse_clock
from modelcache_exporter.logs.stats import DownloadStats

log = logging.getLogger(__name__)
MAX_ACTIVE = 256
MAX_RECENT = 256
Key = tuple[str, str, str]


class Stamp(NamedTuple):
    """Which log a line came from and when (`timed` False: `time` is only an upper bound)."""

    log: str
    time: float
    timed: bool


class Bar(NamedTuple):
    """One progress-bar state: bytes done and total, tqdm's elapsed text, whether it is final."""

    n: int | None
    total: int | None
    elapsed: bytes
    final: bool
    state: bytes


@dataclass
class Active:
    """A download in progress."""

    log: str
    source: str
    repo: str
    file: str
    started: float
    timed: bool
    total: int | None = None
    done: int | None = None


class DownloadTracker:
    """Turns download lines into counters and events (always called under the monitor's lock)."""

    def __init__(self, stats: DownloadStats, emitter: Emitter) -> None:
        self.stats, self.emitter = stats, emitter
        self.active: OrderedDict[Key, Active] = OrderedDict()
        self.recent: OrderedDict[Key, bytes] = OrderedDict()
        self.aliases: OrderedDict[str, Key] = OrderedDict()

    def _event(self, kind: str, a: Active, t: float, **extra: object) -> None:
        if kind in self.emitter.wanted:
            fields: dict = dict(log=a.log, source=a.source, repo=a.repo, file=a.file, bytes_total=a.total)
            fields.update(extra)
            self.emitter.emit(ev.LogEvent(kind, t, **fields))

    def _remember(self, table: OrderedDict, key: object, value: object) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > MAX_RECENT:
            table.popitem(last=False)

    def start(self, at: Stamp, source: str, file: str, repo: str, total: int | None = None, alias: str = "") -> Active:
        """A download begins (explicit line, or first sight of its bar)."""
        key = (at.log, source, basename(file))
        found = self.active.get(key)
        if found is not None:
            return found
        t = at.time
        a = self.active[key] = Active(at.log, source, repo, file, t, at.timed, total)
        if alias:
            self._remember(self.aliases, alias, key)
        self.recent.pop(key, None)
        self.stats.add(self.stats.started, source, repo)
        self._event(ev.DOWNLOAD_STARTED, a, t)
        if len(self.active) > MAX_ACTIVE:
            dropped = self.active.popitem(last=False)[1]
            log.debug("too many downloads in progress; dropping the oldest", extra={"kv": {"file": dropped.file}})
        return a

    def progress(self, at: Stamp, source: str, file: str, repo: str, bar: Bar) -> None:
        """One bar state; `final` when the line ended at 100 % (or a bar without total ended)."""
        key = (at.log, source, basename(file))
        a = self.active.get(key)
        if a is None:
            if bar.final:
                if self.recent.get(key) != bar.state:
                    self._instant(key, Active(at.log, source, repo, file, at.time, at.timed, bar.total, bar.n), at, bar)
                return
            a = self.start(at, source, file, repo, bar.total)
        changed = bar.n != a.done
        a.done, a.total = bar.n, bar.total if bar.total is not None else a.total
        if bar.final:
            self._finish(key, a, at, parse_clock(bar.elapsed))
            self._remember(self.recent, key, bar.state)
        elif changed:
            self._event(ev.DOWNLOAD_PROGRESS, a, at.time, bytes_done=bar.n)

    def done(self, at: Stamp, source: str, dest: str) -> None:
        """An explicit finish line names the file or its destination path."""
        key = self.aliases.get(dest) or (at.log, source, basename(dest))
        a = self.active.get(key)
        if a is not None:
            self._finish(key, a, at, None)
        elif key not in self.recent:
            self._finish(key, self.start(Stamp(at.log, at.time, False), source, dest, ""), at, None)

    def settle(self, at: Stamp, source: str) -> None:
        """Every download of (log, source) in progress has finished (the app moved on)."""
        for key, a in list(self.active.items()):
            if key[:2] == (at.log, source):
                self._finish(key, a, at, None)

    def fail(self, at: Stamp, source: str, kind: str) -> None:
        """An error line of `source`: its downloads in progress failed."""
        for key, a in list(self.active.items()):
            if key[:2] == (at.log, source):
                del self.active[key]
                self._event(ev.DOWNLOAD_FAILED, a, at.time, error=kind, bytes_done=a.done)

    def abort_all(self, t: float) -> None:
        """The app restarted: downloads in progress were interrupted."""
        for a in self.active.values():
            self.stats.errors[(a.source, "interrupted")] = self.stats.errors.get((a.source, "interrupted"), 0) + 1
            self._event(ev.DOWNLOAD_FAILED, a, t, error="interrupted", bytes_done=a.done)
        self.active.clear()
        self.recent.clear()

    def _instant(self, key: Key, a: Active, at: Stamp, bar: Bar) -> None:
        """A bar first seen at its final state: started and finished at once (the common case)."""
        stats = self.stats
        label = (a.source, stats.repos(a.repo))
        stats.started[label] = stats.started.get(label, 0) + 1
        stats.finished[label] = stats.finished.get(label, 0) + 1
        if a.total:
            stats.bytes[label] = stats.bytes.get(label, 0) + a.total
        seconds = parse_clock(bar.elapsed)
        if seconds is not None:
            stats.duration(a.source).observe(seconds)
        self._remember(self.recent, key, bar.state)
        if ev.DOWNLOAD_STARTED in self.emitter.wanted:
            self._event(ev.DOWNLOAD_STARTED, a, at.time)
        if ev.DOWNLOAD_FINISHED in self.emitter.wanted:
            self._event(ev.DOWNLOAD_FINISHED, a, at.time, seconds=seconds, bytes_done=a.done)

    def _finish(self, key: Key, a: Active, at: Stamp, elapsed: float | None) -> None:
        del self.active[key]
        t = at.time
        seconds = elapsed if elapsed is not None else (t - a.started if at.timed and a.timed else None)
        self.stats.add(self.stats.finished, a.source, a.repo)
        if a.total:
            self.stats.add(self.stats.bytes, a.source, a.repo, a.total)
        if seconds is not None and seconds >= 0:
            self.stats.duration(a.source).observe(seconds)
        self._event(ev.DOWNLOAD_FINISHED, a, t, seconds=seconds, bytes_done=a.done)

    def in_progress(self) -> Counter[str]:
        """Downloads in progress by source."""
        return Counter(a.source for a in self.active.values())
