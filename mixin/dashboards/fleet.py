"""The fleet: hosts (instances) of the selected jobs that should hold the same models, compared by each model's
content fingerprint (`modelcache_model_fingerprint_info`): which hosts agree, which differ or lack a model (the
same expressions as ModelCacheFleetDrift and ModelCacheFleetModelMissing, grouped by job), and the fleet's
cache bytes over time for capacity planning."""

from __future__ import annotations

from typing import Any

from mixin.alerts.fleet import drift_expr, missing_expr
from mixin.config import Thresholds
from mixin.dashboards.board import dashboard
from mixin.dashboards.panels import RSEL, Cell, layout, stat, table, target, timeseries

FP = f'modelcache_model_fingerprint_info{{{RSEL}, repo!="(other)"}}'
DRIFT = drift_expr("job").replace("{sel", "{" + RSEL)
MISSING = missing_expr("job").replace("{sel", "{" + RSEL).removesuffix("\n> 0")
#: per host and model: how many hosts hold the very same copy (the fingerprint's count), on the host's series
SHARED = (
    f"count by (job, root, repo, fingerprint) ({FP})\n* on (job, root, repo, fingerprint) group_right ()\n"
    f"  (0 * {FP} + 1)"
)


def _stats() -> list[Cell]:
    """Hosts, models, hosts whose copy differs from the majority, models some host lacks."""
    return [
        Cell(stat("Hosts", "Hosts (instances) reporting a cache root.",
                  f"count(count by (instance) (modelcache_root_size_bytes{{{RSEL}}}))", "none"), 6, 4),
        Cell(stat("Models in the fleet", "Distinct models (root and repo) any host holds.",
                  f"count(count by (root, repo) ({FP}))", "none"), 6, 4),
        Cell(stat("Host copies that differ", "Host and model pairs whose fingerprint fewer hosts share than the "
                  "most common one (the drift alert's condition, before its sync window).",
                  f"count({DRIFT}) or vector(0)", "none"), 6, 4),
        Cell(stat("Models missing on some host", "Models that some hosts of the job hold and others lack.",
                  f"count({MISSING} > 0) or vector(0)", "none"), 6, 4),
    ]  # fmt: skip


def _tables() -> list[Cell]:
    """Models x hosts (fingerprint, hosts sharing it, size) and the hosts each model is missing on."""
    hosts = table(
        "Models x hosts",
        "One row per host and model: its fingerprint, how many hosts hold the very same copy, its size. Hosts of a "
        "healthy fleet share one fingerprint per model.",
        [target(SHARED, instant=True), target(f'modelcache_model_size_bytes{{{RSEL}, repo!="(other)"}}', "", "B",
                                               instant=True)],
        "none",
        {"Value #A": "hosts with this copy", "Value #B": "size"},
        units={"size": "bytes"},
    )  # fmt: skip
    missing = table(
        "Hosts missing each model",
        "Per model: how many hosts of the job (those reporting that root) do not hold it (0: every host does).",
        [target(MISSING, instant=True)],
        "none",
        {"Value": "hosts without it"},
    )
    return [Cell(hosts, 16, 10), Cell(missing, 8, 10)]


def _bytes() -> list[Cell]:
    """The fleet's cache bytes over time, per host, and their growth."""
    return [
        Cell(timeseries("Fleet cache bytes", "Bytes in the selected roots, over all hosts of each job.",
                        [target(f"sum by (job) (modelcache_root_size_bytes{{{RSEL}}})", "{{job}}")], "bytes"), 8, 8),
        Cell(timeseries("Cache bytes per host", "Bytes in the selected roots of each host.",
                        [target(f"sum by (instance) (modelcache_root_size_bytes{{{RSEL}}})", "{{instance}}")],
                        "bytes"), 8, 8),
        Cell(timeseries("Fleet growth per day", "Trend of the fleet's cache bytes over the last day, per day.",
                        [target(f"sum by (job) (deriv(modelcache_root_size_bytes{{{RSEL}}}[1d])) * 86400",
                                "{{job}}")], "bytes"), 8, 8),
    ]  # fmt: skip


def fleet(t: Thresholds) -> dict[str, Any]:
    """The fleet dashboard."""
    panels = layout([_stats(), _tables(), _bytes()])
    return dashboard("modelcache-fleet", "Model cache / Fleet", __doc__.split("\n\n")[0], panels, per_root=True)
