"""The scrape: every enabled collector runs under a timer and an exception guard, so one broken
source never blanks a scrape (node_exporter's `node_scrape_collector_*` pattern)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from ..log import kv

log = logging.getLogger(__name__)
PREFIX = "modelcache_"


class Source(Protocol):
    """One of our collectors: a name (for `--collector.NAME` and the success label) and `collect()`."""

    name: str

    def collect(self) -> Iterable[Metric]: ...


def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    """A gauge family with our prefix."""
    return GaugeMetricFamily(PREFIX + name, doc, labels=list(labels))


class ScrapeTimer:
    """Duration of the previous /metrics requests (count and sum), kept by the HTTP handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        """Record one served scrape."""
        with self._lock:
            self.count += 1
            self.total += seconds


class ScrapeCollector(Collector):
    """Runs the sources and adds `modelcache_scrape_collector_{success,duration_seconds}`."""

    def __init__(self, sources: Sequence[Source], timer: ScrapeTimer) -> None:
        self.sources, self.timer = list(sources), timer

    def describe(self) -> list[Metric]:
        """Nothing: registering must not trigger a collection."""
        return []

    def collect(self) -> Iterator[Metric]:
        success = gauge("scrape_collector_success", "1 if the collector produced its metrics.", ["collector"])
        duration = gauge("scrape_collector_duration_seconds", "Time the collector took in this scrape.", ["collector"])
        for source in self.sources:
            t0 = time.perf_counter()
            try:
                families = list(source.collect())
                ok = 1.0
            except Exception:
                log.exception("collector failed", extra=kv(collector=source.name))
                families, ok = [], 0.0
            duration.add_metric([source.name], time.perf_counter() - t0)
            success.add_metric([source.name], ok)
            yield from families
        yield success
        yield duration
        summary = SummaryMetricFamily(
            PREFIX + "exporter_scrape_duration_seconds", "Time taken to serve previous scrapes of the metrics endpoint."
        )
        summary.add_metric([], self.timer.count, self.timer.total)
        yield summary
