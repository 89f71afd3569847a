"""Helpers of the log tests: a monitor driven by hand, an event recorder, /metrics of a monitor."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from modelcache_exporter.collectors.logs import LogCollector
from modelcache_exporter.collectors.webui import WebuiCollector
from modelcache_exporter.logs.events import LogEvent
from modelcache_exporter.logs.monitor import LogMonitor, MonitorSettings
from modelcache_exporter.logs.rules.sources import LogSourceConfig, PatternConfig

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
SAMPLES = {
    "downloads": FIXTURES / "indextts2-first-start-with-downloads.log",
    "head": FIXTURES / "indextts2-head-v2-first-start-nontty.log",
    "warm": FIXTURES / "indextts2-warm-start.log",
}
NUMBERED = PatternConfig("line", r"^line (?P<value>\d+)$", "custom", profile="numbered")


class Recorder:
    """A listener that keeps every event."""

    def __init__(self) -> None:
        self.events: list[LogEvent] = []

    def __call__(self, event: LogEvent) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[LogEvent]:
        """Events of one kind, in order."""
        return [e for e in self.events if e.kind == kind]

    def values(self) -> list[int]:
        """The numbers of the numbered lines seen (custom pattern `line`)."""
        return [int(e.value or 0) for e in self.of("custom") if e.pattern == "line"]


def monitor(
    paths: Sequence[str | Path] = (),
    patterns: Sequence[PatternConfig] = (),
    state: Path | None = None,
    sources: Sequence[LogSourceConfig] | None = None,
    stdin_fd: int = 0,
    **settings: object,
) -> tuple[LogMonitor, Recorder]:
    """A monitor on `paths` (or `sources`) whose rounds the test runs with `poll_once`."""
    chosen = sources or [LogSourceConfig(f"log{i}" if i else "webui", str(p)) for i, p in enumerate(paths)]
    options: dict = {"state_dir": str(state) if state else "", "rotate_wait": 0.0, **settings}
    mon = LogMonitor(chosen, patterns, MonitorSettings(**options), stdin_fd=stdin_fd)
    rec = Recorder()
    mon.add_listener(rec)
    return mon, rec


class _Collectors:
    def __init__(self, mon: LogMonitor) -> None:
        self.parts = [LogCollector(mon), WebuiCollector(mon)]

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        for part in self.parts:
            yield from part.collect()


def registry(mon: LogMonitor) -> CollectorRegistry:
    """A dedicated registry holding the monitor's collectors."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(_Collectors(mon))  # type: ignore[arg-type]
    return reg


def metrics(mon: LogMonitor) -> str:
    """The exposition text of the monitor's families."""
    return generate_latest(registry(mon)).decode()


def write_lines(path: Path, first: int, last: int, mode: str = "a") -> None:
    """Append `line N` for N in first..last (inclusive)."""
    with open(path, mode) as fh:
        fh.write("".join(f"line {n}\n" for n in range(first, last + 1)))
        fh.flush()
        os.fsync(fh.fileno())
