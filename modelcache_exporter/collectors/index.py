"""Health of the cache index itself: mode, watches, scans, drift corrected by reconciliation."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import Metric

from modelcache_exporter.collectors.families import GaugeTable, Spec, counter, gauge
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.index.state import MODES, PASSES, RootState

GAUGES: tuple[Spec, ...] = (
    ("index_ready", "1 once the root's first scan is done (0 while it runs).", lambda s: s.ready),
    ("index_verified", "1 once every snapshot link was read: sizes are exact.", lambda s: s.verified),
    ("index_watches", "inotify watches held for the root.", lambda s: s.watches),
)
TIMES: tuple[Spec, ...] = (
    (
        "index_last_scan_timestamp_seconds",
        "When the last full scan (cold or reconcile) ended.",
        lambda s: s.last_scan_time,
    ),
    ("index_last_change_timestamp_seconds", "When the index last saw the cache change.", lambda s: s.last_change_time),
)
COUNTERS: tuple[Spec, ...] = (
    (
        "index_corrections",
        "Models a reconciliation found different from the event-driven index (missed events).",
        lambda s: s.corrections,
    ),
    ("index_events", "Filesystem events received.", lambda s: s.events),
    ("index_overflows", "inotify queue overflows (each triggers a reconciliation).", lambda s: s.overflows),
    ("index_fallbacks", "Switches from inotify to polling (watch limit, inotify error).", lambda s: s.fallbacks),
)


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
        gauges = GaugeTable(GAUGES, r)
        mode = gauge(
            "index_mode", "How the index follows changes: inotify events, or polling (1 = current).", ["root", "mode"]
        )
        scans = counter(
            "index_scans",
            "Scans by pass: size (cold), links (verification), reconcile, rescan (one model after an event).",
            ["root", "pass"],
        )
        dur = gauge("index_scan_duration_seconds", "Duration of the last scan of each pass.", ["root", "pass"])
        times = GaugeTable(TIMES, r)
        counters = [(counter(name, doc, r), get) for name, doc, get in COUNTERS]
        for s in self.states():
            gauges.add([s.name], s)
            for m in MODES:
                mode.add_metric([s.name, m], float(s.present and s.mode == m))
            done, secs = dict(s.scans), dict(s.scan_seconds)
            for p in PASSES:
                scans.add_metric([s.name, p], done.get(p, 0))
                if p in secs:
                    dur.add_metric([s.name, p], secs[p])
            times.add([s.name], s)
            for family, get in counters:
                family.add_metric([s.name], float(get(s) or 0))
        yield from (*gauges.families()[:2], mode, gauges.families()[2], scans, dur, *times.families())
        yield from (family for family, _get in counters)


@register("index")
def _index(w: Workers) -> IndexCollector | None:
    """Reads the index, when the cache collector runs."""
    return IndexCollector(w.index.states) if w.index is not None else None
