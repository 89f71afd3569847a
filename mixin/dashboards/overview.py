"""The on-call overview: is the cache where it should be, is it full, did the web UI load from it, what fires;
the incidents first (mixin.dashboards.incidents)."""

from __future__ import annotations

from typing import Any

from mixin.config import Thresholds
from mixin.dashboards.board import dashboard
from mixin.dashboards.incidents import download_stats, incident_stats, models_table, roots_table
from mixin.dashboards.panels import SEL, Cell, layout, stat, steps, table, target, timeseries

ALERTS = 'ALERTS{alertname=~"ModelCache.*", job=~"$job"}'
FIRING = 'count(ALERTS{alertname=~"ModelCache.*", job=~"$job", alertstate="firing"}) or vector(0)'


def _disk_levels(t: Thresholds) -> dict[str, Any]:
    """The DiskAlmostFull levels: orange at the warning, red at the critical."""
    return steps(("orange", t["disk_usage_warning"]), ("red", t["disk_usage_critical"]))


def _status() -> list[Cell]:
    """The first row: alerts firing, then the incidents (roots missing, ephemeral, wiped; models again; corrupt)."""
    firing = stat("Alerts firing", "ModelCache alerts firing now.", FIRING, "none", steps(("red", 1)))
    return [Cell(firing, width=4, height=4), *incident_stats()]


def _progress(t: Thresholds) -> list[Cell]:
    """The second row: the fullest disk, the last and the running load, required models, downloads."""
    warn, crit, load = t["disk_usage_warning"], t["disk_usage_critical"], t["load_seconds"]
    tiles = [
        stat(
            "Fullest cache disk",
            f"Highest usage of the filesystems under the cache roots (alert at {warn:.0%} and {crit:.0%}).",
            f"max(modelcache_filesystem_usage_ratio{{{SEL}}})",
            "percentunit",
            _disk_levels(t),
        ),
        stat(
            "Last model load",
            f"Duration of the web UI's last model load (alert above {load}s).",
            f"max(modelcache_webui_last_load_duration_seconds{{{SEL}}})",
            "s",
            steps(("red", load)),
        ),
        stat(
            "Loading for",
            "How long the current load has been running (0: not loading).",
            f"max(modelcache_webui_load_in_progress_seconds{{{SEL}}})",
            "s",
            steps(("orange", load)),
        ),
        stat(
            "Required models complete",
            "Share of required models present with every file.",
            f"avg(modelcache_required_model_complete{{{SEL}}})",
            "percentunit",
            {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
        ),
    ]
    return [*(Cell(p, width=3, height=4) for p in tiles), *download_stats()]


def _levels(t: Thresholds) -> list[Cell]:
    """Disk usage and load time over time, with the alert levels drawn."""
    warn, crit, load = t["disk_usage_warning"], t["disk_usage_critical"], t["load_seconds"]
    disk_levels = _disk_levels(t)
    return [
        Cell(
            timeseries(
                "Disk usage per cache root",
                f"Share of each cache filesystem a download cannot use; "
                f"lines at the alert levels ({warn:.0%} warning, {crit:.0%} critical).",
                [target(f"modelcache_filesystem_usage_ratio{{{SEL}}}", "{{instance}} {{root}}")],
                "percentunit",
                line=disk_levels,
                bounds=(0, 1),
            ),
        ),
        Cell(
            timeseries(
                "Model load time",
                f"Last load duration and the running load's age; line at {load}s.",
                [
                    target(f"modelcache_webui_last_load_duration_seconds{{{SEL}}}", "last load {{instance}}"),
                    target(f"modelcache_webui_load_in_progress_seconds{{{SEL}}}", "loading {{instance}}", "B"),
                ],
                "s",
                line=steps(("red", load)),
            ),
        ),
    ]


def _downloads() -> list[Cell]:
    """Files downloaded by verdict, and the files downloaded again per model."""
    return [
        Cell(
            timeseries(
                "Files downloaded, by verdict",
                "Files (artifacts) arriving complete in the caches: first download, a new "
                "revision, or a re-download of something the cache had.",
                [
                    target(
                        f"sum by (instance, root, reason) (increase(modelcache_downloads_total{{{SEL}}}"
                        "[$__rate_interval]))",
                        "{{instance}} {{root}} {{reason}}",
                    )
                ],
                "none",
                bars=True,
            ),
        ),
        Cell(
            timeseries(
                "Files downloaded again, per model",
                "Files (artifacts) downloaded again, by repo: each is a lost cache hit.",
                [
                    target(
                        f"sum by (instance, root, repo) (increase(modelcache_unexpected_redownloads_total"
                        f"{{{SEL}}}[$__rate_interval]))",
                        "{{instance}} {{root}} {{repo}}",
                    )
                ],
                "none",
                bars=True,
            ),
        ),
    ]


def _tables() -> list[Cell]:
    """The required models and the alerts now."""
    return [
        Cell(
            table(
                "Required models",
                "Each required model per root: present, complete, files missing.",
                [
                    target(f"modelcache_required_model_present{{{SEL}}}", ref="A", instant=True),
                    target(f"modelcache_required_model_complete{{{SEL}}}", ref="B", instant=True),
                    target(f"modelcache_required_model_missing_files{{{SEL}}}", ref="C", instant=True),
                ],
                "none",
                {"Value #A": "present", "Value #B": "complete", "Value #C": "missing files"},
                units={"present": "bool_yes_no", "complete": "bool_yes_no"},
            ),
        ),
        Cell(
            table(
                "Alerts firing or pending",
                "ModelCache alerts now; the runbook link is in each alert.",
                [target(ALERTS, instant=True)],
                "none",
                {},
                hide=("Time", "__name__", "Value", "job"),
            ),
        ),
    ]


def _activity() -> list[Cell]:
    """Downloads in progress or stalled, web UI restarts and readiness."""
    return [
        Cell(
            timeseries(
                "Downloads in progress and stalled",
                "Partial downloads in the caches (files), and those that stopped growing.",
                [
                    target(f"modelcache_downloads_in_progress{{{SEL}}}", "in progress {{instance}} {{root}}"),
                    target(f"modelcache_downloads_stalled{{{SEL}}}", "stalled {{instance}} {{root}}", "B"),
                ],
                "none",
            ),
        ),
        Cell(
            timeseries(
                "Web UI restarts and readiness",
                "Restarts seen in the logs, and whether the web UI is ready (1).",
                [
                    target(
                        f"increase(modelcache_webui_restarts_total{{{SEL}}}[$__rate_interval])",
                        "restarts {{instance}}",
                    ),
                    target(f"modelcache_webui_ready{{{SEL}}}", "ready {{instance}}", "B"),
                ],
                "none",
            ),
        ),
    ]


def overview(t: Thresholds) -> dict[str, Any]:
    """The dashboard `modelcache-overview`."""
    rows = [_status(), _progress(t), [roots_table(), models_table()], _levels(t), _downloads(), _tables(), _activity()]
    return dashboard(
        "modelcache-overview",
        "Model cache / On-call overview",
        "Is the model cache where the web UI looks, is it full, did the last load read from it.",
        layout(rows),
        per_root=False,
    )
