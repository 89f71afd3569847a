"""What the collectors read: a frozen copy of the monitor's state, published by the monitor's threads.

The monitor builds a new `LogSnapshot` under its lock after each round of the log thread and after
each process or probe change of the watcher's, and swaps it in whole; a scrape reads the current one
without a lock and never waits for a round. `generation` counts the snapshots published (0: the
state at start, before any round). Everything is in exposition order already (sorted where the
families are sorted); only the running load's age is left to the scrape (`LoadView.in_progress`).
"""

from __future__ import annotations

from dataclasses import dataclass

from modelcache_exporter.logs.downloads import DownloadTracker
from modelcache_exporter.logs.loadtime import LoadTracker
from modelcache_exporter.logs.stats import SOURCES, Hist, SourceStats, WebuiStats

Pairs = tuple[tuple[tuple[str, str], int], ...]


@dataclass(frozen=True)
class HistView:
    """A histogram's cumulative buckets ([(le, count)...] ending with +Inf) and sum."""

    buckets: tuple[tuple[str, float], ...]
    sum: float

    @classmethod
    def of(cls, hist: Hist) -> HistView:
        """A copy of `hist`."""
        buckets, total = hist.exposition()
        return cls(tuple(buckets), total)


@dataclass(frozen=True)
class SourceView:
    """The health of one log source (the field names are the `SourceStats` ones)."""

    name: str
    lines: int
    bytes: int
    rotations: int
    truncations: int
    read_errors: int
    lines_truncated: int
    last_line_time: float
    matched: tuple[tuple[str, int], ...]  # (profile, lines matched), in the source's profile order
    files: int  # files (or the input stream) being followed
    patterns: tuple[tuple[str, int], ...]  # (custom pattern of kind `custom`, matches), by name

    @classmethod
    def of(cls, name: str, st: SourceStats, files: int, custom: list[str]) -> SourceView:
        """A copy of one source's counters; `custom`: its custom pattern names."""
        return cls(
            name,
            st.lines,
            st.bytes,
            st.rotations,
            st.truncations,
            st.read_errors,
            st.lines_truncated,
            st.last_line_time,
            tuple(zip(st.profiles, st.matched, strict=True)),
            files,
            tuple((rule, st.patterns.get(rule, 0)) for rule in custom),
        )


@dataclass(frozen=True)
class DownloadView:
    """The downloads seen in the logs: counters by (source, repo) and by source, sorted."""

    started: Pairs
    finished: Pairs
    bytes: Pairs
    durations: tuple[tuple[str, HistView], ...]
    in_progress: tuple[tuple[str, int], ...]  # every known source, with 0 when none runs
    errors: Pairs  # ((source, kind), count)

    @classmethod
    def of(cls, downloads: DownloadTracker) -> DownloadView:
        """A copy of the tracker's counters."""
        d, counts = downloads.stats, downloads.in_progress()
        return cls(
            tuple(sorted(d.started.items())),
            tuple(sorted(d.finished.items())),
            tuple(sorted(d.bytes.items())),
            tuple((source, HistView.of(h)) for source, h in sorted(d.durations.items())),
            tuple((source, counts.get(source, 0)) for source in sorted({*SOURCES, *counts})),
            tuple(sorted(d.errors.items())),
        )


@dataclass(frozen=True)
class LoadView:
    """The web UI's load state (see `LoadTracker`)."""

    hist: HistView
    last_duration: float | None
    loading: bool  # a confirmed load is in progress
    started: float  # when it began (meaningful while `loading`)
    stages: tuple[tuple[str, float], ...]  # stage durations of the last load, in stage order
    loads: int
    restarts: int
    ready: bool
    buffered: bool
    process_start: float | None

    @classmethod
    def of(cls, load: LoadTracker) -> LoadView:
        """A copy of the tracker's state."""
        return cls(
            HistView.of(load.hist),
            load.last_duration,
            load.loading and load.confirmed,
            load.start,
            tuple(load.stages.items()),
            load.loads,
            load.restarts,
            load.ready,
            load.buffered,
            load.process[1] if load.process is not None else None,
        )

    def in_progress(self, now: float) -> float:
        """Seconds the current load has been running at `now` (0 when none)."""
        return max(0.0, now - self.started) if self.loading else 0.0


@dataclass(frozen=True)
class AppView:
    """What the web UI's own lines said: errors by kind (sorted), requests, inference time, RTF."""

    errors: tuple[tuple[str, int], ...]
    requests: int
    inference: HistView
    rtf: float | None

    @classmethod
    def of(cls, webui: WebuiStats) -> AppView:
        """A copy of the web UI's counters."""
        return cls(tuple(sorted(webui.errors.items())), webui.requests, HistView.of(webui.inference), webui.rtf)


@dataclass(frozen=True)
class LogSnapshot:
    """The monitor's state as of one moment, for the collectors."""

    generation: int
    sources: tuple[SourceView, ...]
    downloads: DownloadView
    load: LoadView
    app: AppView
