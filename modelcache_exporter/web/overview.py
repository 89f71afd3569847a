"""The landing page's model: what an on-call person reads first, as plain data. `gather` takes it from what the
exporter's workers last published (the index's snapshots, the filesystem samples, the ledger's counters and
required models, the log monitor's snapshot): no filesystem access, no database query, nothing that waits.
`build` is pure, so the page can be tested on made-up states."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modelcache_exporter.base.human import duration, size
from modelcache_exporter.collectors.registry import Workers
from modelcache_exporter.fshealth.health import FsSample
from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.forecast import Forecast
from modelcache_exporter.ledger.required import Status
from modelcache_exporter.ledger.stats import Snapshot
from modelcache_exporter.logs.events import DOWNLOAD_PROGRESS, LogEvent
from modelcache_exporter.logs.snapshot import LogSnapshot
from modelcache_exporter.web.findings import LEVELS, Storage
from modelcache_exporter.web.rootview import RootView, root_view

MAX_MISSING = 5


@dataclass(frozen=True)
class RequiredView:
    """One required model: `complete`, `INCOMPLETE` or `MISSING`, where it was found, what it lacks."""

    name: str
    state: str
    level: str
    where: str
    missing: tuple[str, ...]
    more_missing: int


@dataclass(frozen=True)
class LogView:
    """One log source the exporter follows: the file, lines read, the last line and the last event."""

    name: str
    path: str
    files: int
    lines: int
    last_line: float
    last_event: LogEvent | None


@dataclass(frozen=True)
class Overview:
    """The whole page."""

    now: float
    roots: tuple[RootView, ...]
    required: tuple[RequiredView, ...] | None  # None: no required models configured
    logs: tuple[LogView, ...]
    loading: float | None  # seconds the web UI's current load has run (None: not loading, or not watched)
    ledger: bool  # whether the download ledger runs
    forecast: Forecast | None = None  # what the next start would download (None: no required models)

    @property
    def level(self) -> str:
        """The worst level on the page."""
        levels = [r.level for r in self.roots] + [r.level for r in self.required or ()]
        return max(levels, key=LEVELS.index, default="ok")

    @property
    def attention(self) -> tuple[str, ...]:
        """'hub: MISSING (the worst finding)', 'required org/tts: MISSING'... for every root or required model that
        is not OK."""
        roots = [f"{r.name}: {r.status} ({r.findings[0].text})" for r in self.roots if r.findings]
        need = [f"required {r.name}: {r.state}" for r in self.required or () if r.level != "ok"]
        fc = self.forecast
        if fc is not None and (fc.bytes or fc.unknown_models):
            unknown = f" and {len(fc.unknown_models)} models of unknown size" if fc.unknown_models else ""
            need.append(f"next start: downloads {size(fc.bytes)}{unknown}, about {duration(fc.seconds)}")
        return (*roots, *need)


@dataclass(frozen=True)
class Inputs:
    """What `build` reads, as last published by the workers."""

    now: float
    states: Sequence[RootState]
    stall_after: float
    samples: Mapping[str, tuple[FsSample, bool]] = field(default_factory=dict)  # root -> (sample, hung)
    ledger: Snapshot | None = None
    required: Sequence[Status] | None = None
    required_pending: Sequence[str] = ()  # required models not checked yet
    logs: LogSnapshot | None = None
    log_paths: Mapping[str, str] = field(default_factory=dict)
    last_events: Mapping[str, LogEvent] = field(default_factory=dict)
    forecast: Forecast | None = None


class LastEvents:
    """The last event of each log source (a log monitor listener: called on the monitor's thread, it only
    replaces one dict entry)."""

    def __init__(self) -> None:
        self.by_log: dict[str, LogEvent] = {}

    def record(self, event: LogEvent) -> None:
        """Keep `event` as its source's last (progress lines excepted: they say nothing new)."""
        if event.kind != DOWNLOAD_PROGRESS:
            self.by_log[event.log] = event


def storage(sample: FsSample | None, hung: bool) -> Storage:
    """The storage verdict of a root from its last filesystem sample."""
    if sample is None or (not sample.time and not hung):
        return Storage()
    if hung or sample.error:
        return Storage(error=sample.error or "statvfs has not returned (a hung mount?)")
    if sample.mount is None:
        return Storage(size_bytes=sample.size_bytes, avail_bytes=sample.avail_bytes)
    verdict = sample.ephemeral or "persistent"
    m = sample.mount
    return Storage(verdict, m.fstype, m.mountpoint, sample.size_bytes, sample.avail_bytes)


def required_view(s: Status) -> RequiredView:
    """A required model's line."""
    state, level = ("complete", "ok") if s.complete else ("INCOMPLETE", "warn") if s.present else ("MISSING", "crit")
    where = f"{s.root}: {s.where}" if s.present else "-"
    return RequiredView(s.name, state, level, where, s.missing[:MAX_MISSING], max(0, len(s.missing) - MAX_MISSING))


def build(i: Inputs) -> Overview:
    """The page's model from the workers' state."""
    roots = tuple(
        root_view(
            s,
            storage(*i.samples.get(s.name, (None, False))),
            i.ledger.roots.get(s.name) if i.ledger else None,
            i.stall_after,
            i.now,
        )
        for s in i.states
    )
    required = None
    if i.required is not None:
        pending = [RequiredView(n, "not checked yet", "info", "-", (), 0) for n in i.required_pending]
        required = (*(required_view(s) for s in i.required), *pending)
    logs = tuple(
        LogView(v.name, i.log_paths.get(v.name, ""), v.files, v.lines, v.last_line_time, i.last_events.get(v.name))
        for v in (i.logs.sources if i.logs else ())
    )
    loading = i.logs.load.in_progress(i.now) if i.logs and i.logs.load.loading else None
    return Overview(i.now, roots, required, logs, loading, i.ledger is not None, i.forecast)


def gather(w: Workers, stall_after: float, log_paths: Mapping[str, str], events: LastEvents, now: float) -> Inputs:
    """The inputs of `build` from the running workers (what they last published)."""
    timeout = w.filesystem_timeout
    samples = {h.root.name: (h.sample, h.stuck_for() > timeout) for h in w.health}
    ledger = w.ledger
    return Inputs(
        now=now,
        states=w.index.states() if w.index is not None else (),
        stall_after=stall_after,
        samples=samples,
        ledger=ledger.counters.snapshot if ledger is not None else None,
        required=ledger.required if ledger is not None and ledger.requirements else None,
        required_pending=tuple(r.name for r in ledger.requirements) if ledger and not ledger.required else (),
        logs=w.logs.snapshot if w.logs is not None else None,
        log_paths=log_paths,
        last_events=dict(events.by_log),
        forecast=ledger.forecast if ledger is not None and ledger.requirements else None,
    )
