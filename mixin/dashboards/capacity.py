"""Capacity planning: size per root and model over time, growth, time until each filesystem is full."""

from __future__ import annotations

from typing import Any

from mixin.config import Thresholds
from mixin.dashboards.board import dashboard
from mixin.dashboards.panels import RSEL, Cell, layout, stat, steps, table, target, timeseries

YEAR = 365 * 86400
# Free space over its shrink rate of the last day, capped at a year (not filling up).
UNTIL_FULL = (
    f"clamp_max(modelcache_filesystem_avail_bytes{{{RSEL}}} / clamp_min(-deriv("
    f"modelcache_filesystem_avail_bytes{{{RSEL}}}[1d]), 0), {YEAR})"
)
# Red under 4 hours, orange under a week, green beyond.
UNTIL_FULL_LEVELS = {
    "mode": "absolute",
    "steps": [
        {"color": "red", "value": None},
        {"color": "orange", "value": 4 * 3600},
        {"color": "green", "value": 7 * 86400},
    ],
}


def _totals() -> list[Cell]:
    """Stats: cache size, reclaimable bytes, models, the shortest time until full."""
    return [
        Cell(
            stat(
                "Cache size",
                "Bytes in the selected cache roots.",
                f"sum(modelcache_root_size_bytes{{{RSEL}}})",
                "bytes",
            ),
            width=6,
            height=4,
        ),
        Cell(
            stat(
                "Reclaimable",
                "Unreferenced blobs and partial downloads (hf cache prune).",
                f"sum(modelcache_root_unreferenced_bytes{{{RSEL}}}) + sum(modelcache_root_incomplete_bytes{{{RSEL}}})",
                "bytes",
            ),
            width=6,
            height=4,
        ),
        Cell(stat("Models", "Models in the selected roots.", f"sum(modelcache_root_models{{{RSEL}}})", "none"), 6, 4),
        Cell(
            stat(
                "Shortest time until full",
                "At the trend of the last day (capped at a year: not filling up).",
                f"min({UNTIL_FULL})",
                "s",
                UNTIL_FULL_LEVELS,
            ),
            width=6,
            height=4,
        ),
    ]


def _sizes() -> list[Cell]:
    """Cache size per root and per model over time."""
    return [
        Cell(
            timeseries(
                "Cache size per root",
                "Bytes of complete files per root, each physical file once.",
                [target(f"modelcache_root_size_bytes{{{RSEL}}}", "{{instance}} {{root}}")],
                "bytes",
            ),
        ),
        Cell(
            timeseries(
                "Cache size per model",
                "Bytes each model's snapshots reference.",
                [target(f"modelcache_model_size_bytes{{{RSEL}}}", "{{instance}} {{root}} {{repo}}")],
                "bytes",
            ),
        ),
    ]


def _growth() -> list[Cell]:
    """Growth rate and time until full per root."""
    return [
        Cell(
            timeseries(
                "Growth rate per root",
                "Change of the cache size, per second, over the last hour.",
                [target(f"deriv(modelcache_root_size_bytes{{{RSEL}}}[1h])", "{{instance}} {{root}}")],
                "Bps",
            ),
        ),
        Cell(
            timeseries(
                "Time until full per root",
                "Free space divided by its shrink rate over the last day; a year means it is not filling up.",
                [target(UNTIL_FULL, "{{instance}} {{root}}")],
                "s",
            ),
        ),
    ]


def _space() -> list[Cell]:
    """Filesystem size and use, reclaimable space per root."""
    return [
        Cell(
            timeseries(
                "Filesystem size and use",
                "Size of each cache filesystem and the part a download cannot use.",
                [
                    target(f"modelcache_filesystem_size_bytes{{{RSEL}}}", "size {{instance}} {{root}}"),
                    target(
                        f"modelcache_filesystem_size_bytes{{{RSEL}}} - modelcache_filesystem_avail_bytes{{{RSEL}}}",
                        "used {{instance}} {{root}}",
                        "B",
                    ),
                ],
                "bytes",
            ),
        ),
        Cell(
            timeseries(
                "Reclaimable space per root",
                "Unreferenced blobs and partial downloads.",
                [
                    target(f"modelcache_root_unreferenced_bytes{{{RSEL}}}", "unreferenced {{instance}} {{root}}"),
                    target(f"modelcache_root_incomplete_bytes{{{RSEL}}}", "partial {{instance}} {{root}}", "B"),
                ],
                "bytes",
            ),
        ),
    ]


def _inodes_and_models(t: Thresholds) -> list[Cell]:
    """Inodes used per root (with the alert levels), the largest models."""
    return [
        Cell(
            timeseries(
                "Inodes used per root",
                "Share of inodes in use on each cache filesystem.",
                [target(f"modelcache_filesystem_files_usage_ratio{{{RSEL}}}", "{{instance}} {{root}}")],
                "percentunit",
                line=steps(("orange", t["inodes_usage_warning"]), ("red", t["inodes_usage_critical"])),
            ),
        ),
        Cell(
            table(
                "Largest models",
                "The 25 largest models in the selected roots.",
                [target(f"topk(25, modelcache_model_size_bytes{{{RSEL}}})", ref="A", instant=True)],
                "bytes",
                {"Value": "size"},
            ),
        ),
    ]


def capacity(t: Thresholds) -> dict[str, Any]:
    """The dashboard `modelcache-capacity`."""
    return dashboard(
        "modelcache-capacity",
        "Model cache / Capacity planning",
        "Cache size per root and model over time, growth, and time until each filesystem is full.",
        layout([_totals(), _sizes(), _growth(), _space(), _inodes_and_models(t)]),
        per_root=True,
    )
