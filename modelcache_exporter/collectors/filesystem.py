"""The filesystem under each root: space, inodes, read-only, ephemeral, errors (from background samples)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import Metric

from modelcache_exporter.collectors.families import GaugeTable, Spec, gauge
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.fshealth.health import RootHealth

SPACE: tuple[Spec, ...] = (
    ("filesystem_size_bytes", "Filesystem size.", lambda s: s.size_bytes),
    ("filesystem_avail_bytes", "Space available to unprivileged users.", lambda s: s.avail_bytes),
    ("filesystem_free_bytes", "Free space (including root's reserve).", lambda s: s.free_bytes),
    (
        "filesystem_usage_ratio",
        "(size - avail) / size: the share a download cannot use.",
        lambda s: (s.size_bytes - s.avail_bytes) / s.size_bytes,
    ),
    ("filesystem_files", "Inodes.", lambda s: s.files),
    ("filesystem_files_free", "Free inodes.", lambda s: s.files_free),
    (
        "filesystem_files_usage_ratio",
        "Share of inodes in use (absent where the filesystem reports no inodes).",
        lambda s: (s.files - s.files_free) / s.files if s.files else None,
    ),
)


class FilesystemCollector:
    """`modelcache_filesystem_*`. A statvfs running past `timeout` is an error, and the scrape goes on."""

    name = "filesystem"

    def __init__(self, samplers: Sequence[RootHealth], timeout: float) -> None:
        self.samplers, self.timeout = samplers, timeout

    def collect(self) -> Iterator[Metric]:
        r = ["root"]
        info = gauge(
            "filesystem_info",
            "The mount under a root (join with node_exporter on mountpoint); storage "
            "is 'persistent' or why it is not (tmpfs, ramfs, overlay, emptydir).",
            ["root", "mountpoint", "fstype", "device", "storage"],
        )
        space = GaugeTable(SPACE, r)
        ro = gauge("filesystem_readonly", "1 if the filesystem is mounted read-only.", r)
        eph = gauge(
            "filesystem_ephemeral",
            "1 if the cache is lost on restart (tmpfs, ramfs, a container's overlay layer, a Kubernetes emptyDir).",
            r,
        )
        err = gauge(
            "filesystem_device_error", "1 if the last statvfs failed or has hung for longer than the timeout.", r
        )
        for h in self.samplers:
            s, lab = h.sample, [h.root.name]
            stuck = h.stuck_for() > self.timeout
            if not s.time and not stuck:
                continue  # first sample still running: nothing known yet
            failed = bool(s.error) or stuck
            err.add_metric(lab, float(failed))
            if s.mount is not None:
                info.add_metric(
                    [h.root.name, s.mount.mountpoint, s.mount.fstype, s.mount.source, s.ephemeral or "persistent"], 1
                )
                eph.add_metric(lab, float(bool(s.ephemeral)))
            if not failed:
                ro.add_metric(lab, float(s.readonly))
                space.add(lab, s)
        yield from (info, *space.families(), ro, eph, err)


@register("filesystem")
def _filesystem(w: Workers) -> FilesystemCollector | None:
    """Reads the roots' health samples, when switched on."""
    return FilesystemCollector(w.health, w.filesystem_timeout) if w.filesystem else None
