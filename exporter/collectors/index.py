"""Health of the cache index itself: mode, watches, scans, drift corrected by reconciliation."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, Metric

from ..index.state import MODES, PASSES, RootState
from .base import PREFIX, gauge


def counter(name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
    """A counter family with our prefix (the `_total` suffix is added on exposition)."""
    return CounterMetricFamily(PREFIX + name, doc, labels=labels)


class IndexCollector:
    """`modelcache_index_*`."""

    name = "index"

    def __init__(self, states: Callable[[], tuple[RootState, ...]]) -> None:
        self.states = states

    def cache_key(self) -> object:
        """Changes whenever any root publishes a new index state."""
        return tuple((s.name, s.generation) for s in self.states())

    def collect(self) -> Iterator[Metric]:
        r = ["root"]
        ready = gauge("index_ready", "1 once the root's first scan is done (0 while it runs).", r)
        verified = gauge("index_verified", "1 once every snapshot link was read: sizes are exact.", r)
        mode = gauge(
            "index_mode", "How the index follows changes: inotify events, or polling (1 = current).", ["root", "mode"]
        )
        watches = gauge("index_watches", "inotify watches held for the root.", r)
        scans = counter(
            "index_scans",
            "Scans by pass: size (cold), links (verification), reconcile, rescan (one model after an event).",
            ["root", "pass"],
        )
        dur = gauge("index_scan_duration_seconds", "Duration of the last scan of each pass.", ["root", "pass"])
        last = gauge("index_last_scan_timestamp_seconds", "When the last full scan (cold or reconcile) ended.", r)
        change = gauge("index_last_change_timestamp_seconds", "When the index last saw the cache change.", r)
        corr = counter(
            "index_corrections",
            "Models a reconciliation found different from the event-driven index (missed events).",
            r,
        )
        events = counter("index_events", "Filesystem events received.", r)
        over = counter("index_overflows", "inotify queue overflows (each triggers a reconciliation).", r)
        fall = counter("index_fallbacks", "Switches from inotify to polling (watch limit, inotify error).", r)
        for s in self.states():
            lab = [s.name]
            ready.add_metric(lab, float(s.ready))
            verified.add_metric(lab, float(s.verified))
            for m in MODES:
                mode.add_metric([s.name, m], float(s.present and s.mode == m))
            watches.add_metric(lab, s.watches)
            done, secs = dict(s.scans), dict(s.scan_seconds)
            for p in PASSES:
                scans.add_metric([s.name, p], done.get(p, 0))
                if p in secs:
                    dur.add_metric([s.name, p], secs[p])
            if s.last_scan_time:
                last.add_metric(lab, s.last_scan_time)
            if s.last_change_time:
                change.add_metric(lab, s.last_change_time)
            corr.add_metric(lab, s.corrections)
            events.add_metric(lab, s.events)
            over.add_metric(lab, s.overflows)
            fall.add_metric(lab, s.fallbacks)
        yield from (ready, verified, mode, watches, scans, dur, last, change, corr, events, over, fall)
