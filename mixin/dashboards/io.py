"""IO of the disks under the caches: latency, throughput, utilisation, and the active probe."""

from __future__ import annotations

from typing import Any

from mixin.config import Thresholds
from mixin.dashboards.board import dashboard
from mixin.dashboards.panels import RSEL, Cell, Target, layout, steps, target, timeseries

RI = "[$__rate_interval]"
WHO = "{{instance}} {{root}} {{device}}"  # the legend of a per-device series


def per_op(what: str, legend: str) -> list[Target]:
    """Queries A (reads) and B (writes) of `what`, a format string with `{op}` (read) and `{ops}` (reads)."""
    return [
        target(what.format(op="read", ops="reads"), "read " + legend),
        target(what.format(op="write", ops="writes"), "write " + legend, "B"),
    ]


def _latency_and_throughput(t: Thresholds) -> list[Cell]:
    """Latency per IO (with the alert level) and bytes per second."""
    return [
        Cell(
            timeseries(
                "Latency per IO",
                "Average time per completed read and write (what model loads wait for).",
                per_op(
                    f"rate(modelcache_disk_{{op}}_time_seconds_total{{{{{RSEL}}}}}{RI}) / "
                    f"rate(modelcache_disk_{{ops}}_completed_total{{{{{RSEL}}}}}{RI})",
                    WHO,
                ),
                "s",
                line=steps(("red", t["io_latency_seconds"])),
            ),
        ),
        Cell(
            timeseries(
                "Throughput",
                "Bytes read and written per second.",
                [
                    target(f"rate(modelcache_disk_read_bytes_total{{{RSEL}}}{RI})", "read " + WHO),
                    target(f"rate(modelcache_disk_written_bytes_total{{{RSEL}}}{RI})", "write " + WHO, "B"),
                ],
                "Bps",
            ),
        ),
    ]


def _load() -> list[Cell]:
    """IOPS, utilisation, queue depth."""
    return [
        Cell(
            timeseries(
                "IOPS",
                "Reads and writes completed per second.",
                per_op(f"rate(modelcache_disk_{{ops}}_completed_total{{{{{RSEL}}}}}{RI})", WHO),
                "iops",
            ),
            width=8,
            height=8,
        ),
        Cell(
            timeseries(
                "Utilisation",
                "Share of time the device had IO in flight.",
                [target(f"rate(modelcache_disk_io_time_seconds_total{{{RSEL}}}{RI})", WHO)],
                "percentunit",
            ),
            width=8,
            height=8,
        ),
        Cell(
            timeseries(
                "Queue depth",
                "Average IOs in flight (aqu-sz).",
                [target(f"rate(modelcache_disk_io_time_weighted_seconds_total{{{RSEL}}}{RI})", WHO)],
                "short",
            ),
            width=8,
            height=8,
        ),
    ]


def _probe(t: Thresholds) -> list[Cell]:
    """The active probe: latency per step (with the alert level) and failures."""
    return [
        Cell(
            timeseries(
                "Probe latency (p90) per step",
                "The active probe's write, fsync, read and unlink of "
                "4 KiB on each cache filesystem (works on NFS and overlay too).",
                [
                    target(
                        f"histogram_quantile({t['probe_quantile']}, sum by (instance, root, op, le) "
                        f"(rate(modelcache_probe_duration_seconds_bucket{{{RSEL}}}{RI})))",
                        "{{instance}} {{root}} {{op}}",
                    )
                ],
                "s",
                line=steps(("red", t["probe_latency_seconds"])),
            ),
        ),
        Cell(
            timeseries(
                "Probe failures",
                "Probe runs that failed.",
                [target(f"increase(modelcache_probe_errors_total{{{RSEL}}}{RI})", "{{instance}} {{root}}")],
                "none",
                bars=True,
            ),
        ),
    ]


def io(t: Thresholds) -> dict[str, Any]:
    """The dashboard `modelcache-io`."""
    return dashboard(
        "modelcache-io",
        "Model cache / IO",
        "IO latency, throughput and utilisation of the disks under the model caches, and the active probe.",
        layout([_latency_and_throughput(t), _load(), _probe(t)]),
        per_root=True,
    )
