"""The active IO probe's latency histogram per root and operation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import HistogramMetricFamily, Metric

from modelcache_exporter.collectors.families import PREFIX, counter, gauge
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.fshealth.health import RootHealth


class ProbeCollector:
    """`modelcache_probe_*`."""

    name = "probe"

    def __init__(self, roots: Sequence[RootHealth]) -> None:
        self.roots = roots

    def collect(self) -> Iterator[Metric]:
        hist = HistogramMetricFamily(
            PREFIX + "probe_duration_seconds",
            "Latency of the active probe's steps "
            "(write, fsync, read after dropping the page cache, unlink) on the root's "
            "filesystem.",
            labels=["root", "op"],
        )
        enabled = gauge(
            "probe_enabled",
            "1 if the probe runs for this root (a writable probe directory on the same filesystem, not read-only).",
            ["root"],
        )
        errors = counter("probe_errors", "Probe runs that failed.", ["root"])
        for h in self.roots:
            st = h.probe
            enabled.add_metric([h.root.name], float(st.enabled))
            errors.add_metric([h.root.name], st.errors)
            for op, (buckets, total) in st.histogram.snapshot().items():
                hist.add_metric([h.root.name, op], buckets, total)
        yield from (hist, enabled, errors)


@register("probe")
def _probe(w: Workers) -> ProbeCollector | None:
    """Reads the roots' probes, when switched on."""
    return ProbeCollector(w.health) if w.probe else None
