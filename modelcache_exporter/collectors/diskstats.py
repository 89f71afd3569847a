"""Disk IO counters of the block device under each root (rates and latencies are PromQL's job:
`rate(modelcache_disk_read_time_seconds_total[5m]) / rate(modelcache_disk_reads_completed_total[5m])`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import Metric

from modelcache_exporter.collectors.families import counter, gauge
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.fshealth.health import RootHealth
from modelcache_exporter.fshealth.sampler import DiskSampler

COUNTERS = (
    ("reads_completed", "Reads completed.", "reads"),
    ("read_time_seconds", "Time spent reading.", "read_seconds"),
    ("read_bytes", "Bytes read.", "read_bytes"),
    ("writes_completed", "Writes completed.", "writes"),
    ("write_time_seconds", "Time spent writing.", "write_seconds"),
    ("written_bytes", "Bytes written.", "written_bytes"),
    ("io_time_seconds", "Time the device had IO in flight.", "io_seconds"),
    ("io_time_weighted_seconds", "IO time weighted by the number of IOs in flight.", "weighted_io_seconds"),
)


class DiskstatsCollector:
    """`modelcache_disk_*`: counters per root for the device it lives on."""

    name = "diskstats"

    def __init__(self, sampler: DiskSampler, roots: Sequence[RootHealth]) -> None:
        self.sampler, self.roots = sampler, roots

    def collect(self) -> Iterator[Metric]:
        info = gauge(
            "disk_info",
            "The block device under a root and the disks behind it (partition parent, device-mapper slaves).",
            ["root", "device", "disks"],
        )
        known = gauge(
            "disk_stats_available",
            "1 if the root has a block device with kernel statistics (0 for overlay, tmpfs and network filesystems).",
            ["root"],
        )
        counters = [counter(f"disk_{n}", doc, ["root", "device"]) for n, doc, _ in COUNTERS]
        now = gauge("disk_io_now", "IOs in flight.", ["root", "device"])
        stats = self.sampler.stats
        for h in self.roots:
            dev = h.sample.device
            st = stats.get(dev[0]) if dev else None
            known.add_metric([h.root.name], float(st is not None))
            if dev is None or st is None:
                continue
            info.add_metric([h.root.name, dev[0], ",".join(dev[1])], 1)
            lab = [h.root.name, dev[0]]
            for fam, (_n, _d, attr) in zip(counters, COUNTERS, strict=True):
                fam.add_metric(lab, float(getattr(st, attr)))
            now.add_metric(lab, st.in_progress)
        yield from (info, known, *counters, now)


@register("diskstats")
def _diskstats(w: Workers) -> DiskstatsCollector | None:
    """Reads the disk sampler, when it runs."""
    return DiskstatsCollector(w.disk, w.health) if w.disk is not None else None
