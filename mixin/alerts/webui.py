"""Alerts of the group `modelcache.webui`: slow or hung model loads, restart loops, the logs followed."""

from __future__ import annotations

from mixin.alerts.model import SEVERITIES, Alert, secs
from mixin.config import Thresholds


def _loads(t: Thresholds) -> list[Alert]:
    """ModelLoadSlow (the last load) and ModelLoadStillRunning (the current one), warning and critical."""
    limit, lw = t["load_seconds"], t["load_slow_window"]
    alerts = [
        Alert(
            "ModelLoadSlow",
            "warning",
            f"(\n  modelcache_webui_last_load_duration_seconds{{sel}} > {limit}\n)\nand on(instance, job)\n"
            f"  increase(modelcache_webui_loads_total{{sel}}[{lw}]) > 0",
            f"The web UI took more than {secs(limit)} to load its models.",
            "The last model load of the web UI on {{ $labels.instance }} took {{ $value | humanizeDuration }} "
            f"(threshold {secs(limit)}): models were probably downloaded instead of read from the cache.",
        )
    ]
    for sev in SEVERITIES:
        run = t[f"load_running_{sev}_seconds"]
        alerts.append(
            Alert(
                "ModelLoadStillRunning",
                sev,
                f"modelcache_webui_load_in_progress_seconds{{sel}} > {run}",
                f"The web UI has been loading its models for more than {secs(run)}.",
                "The web UI on {{ $labels.instance }} has been loading for {{ $value | humanizeDuration }} "
                f"(threshold {secs(run)}) and is not serving: it is probably downloading models.",
            )
        )
    return alerts


def _process(t: Thresholds) -> list[Alert]:
    """WebUIRestartLoop, LogSourceMissing, LogSourceSilent."""
    rw = t["restart_window"]
    return [
        Alert(
            "WebUIRestartLoop",
            "critical",
            f"increase(modelcache_webui_restarts_total{{sel}}[{rw}]) > {t['restarts']}",
            "The web UI restarts in a loop.",
            'The web UI on {{ $labels.instance }} restarted {{ $value | printf "%.0f" }} times in the last '
            f"{rw}: it crashes while loading and is not serving.",
            t["restart_for"],
        ),
        Alert(
            "LogSourceMissing",
            "warning",
            "modelcache_log_files{sel} == 0",
            "A web UI log the exporter should follow does not exist.",
            "Log source {{ $labels.log }} on {{ $labels.instance }} matches no file: load times, restarts and "
            "downloads of that web UI are not seen.",
            t["log_missing_for"],
        ),
        Alert(
            "LogSourceSilent",
            "warning",
            f"time() - modelcache_log_last_line_timestamp_seconds{{sel}} > {t['log_silent_seconds']}",
            "A web UI log has been silent for a long time.",
            "Log source {{ $labels.log }} on {{ $labels.instance }} has had no line for "
            "{{ $value | humanizeDuration }} (threshold "
            f"{secs(t['log_silent_seconds'])}): the web UI may log elsewhere now.",
            t["log_silent_for"],
        ),
    ]


def webui(t: Thresholds) -> list[Alert]:
    """The group's alerts in file order."""
    return [*_loads(t), *_process(t)]
