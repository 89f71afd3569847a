"""Grafana dashboards for modelcache-exporter, generated from this file: `python dashboards/generate.py`.

Writes `dashboards/*.json` (on-call overview, capacity planning, IO) and the Grafana provisioning files under
`dashboards/provisioning/`. The JSON is committed and a test checks it equals a fresh generation: edit this
file, never the JSON.

Why plain dicts and not a dashboards-as-code library: grafanalib's last release is from January 2024 and it
emits the old graph panels; grafana-foundation-sdk is maintained but versions itself per Grafana release with
PEP 440 epochs (`1769699998!10.1.0`), is a builder API over the whole schema, and would be one more
dependency for CI to install. Three dashboards of ~30 panels need a dozen fields per panel; a few typed
helpers below produce exactly the JSON Grafana stores (so the diff of a change is readable), with no
dependency beyond the standard library. Thresholds (the 85 % line, the 60 s load) come from
`alerts/generate.py`, so the dashboards and the alerts cannot disagree.

Conventions every panel follows (checked by tests/test_dashboards.py): the `${datasource}` variable, `$job`
and `$instance` (and `$root` where per-root), a unit, a fixed dashboard `uid`, and `$__rate_interval` for
rate()/increase() windows (`$__range` for totals over the shown range). Trend windows of `deriv()` are fixed on
purpose: growth and time-until-full are read over an hour or a day, whatever the zoom.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance"'
RSEL = SEL + ', root=~"$root"'
TAGS = ["modelcache", "model-cache"]
DATASOURCE_UID = "modelcache-prometheus"
DASHBOARD_DIR = "/var/lib/grafana/dashboards/modelcache"


def _alert_thresholds() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("alerts_generate", HERE.parent / "alerts" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    return dict(sys.modules[spec.name].THRESHOLDS)


T = _alert_thresholds()


class Target(TypedDict, total=False):
    """One PromQL query of a panel."""

    refId: str
    datasource: dict[str, str]
    expr: str
    legendFormat: str
    instant: bool
    range: bool
    format: str


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> Target:
    """A Prometheus query; instant ones feed tables and stats."""
    t: Target = {"refId": ref, "datasource": DS, "expr": expr, "legendFormat": legend or "__auto"}
    if instant:
        t.update(instant=True, range=False, format="table")
    else:
        t.update(instant=False, range=True)
    return t


def steps(*levels: tuple[str, float]) -> dict[str, Any]:
    """Absolute thresholds: green below the first level."""
    return {
        "mode": "absolute",
        "steps": [{"color": "green", "value": None}, *({"color": c, "value": v} for c, v in levels)],
    }


def panel(
    kind: str,
    title: str,
    description: str,
    targets: Sequence[Target],
    unit: str,
    *,
    thresholds: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """A panel without position (layout() assigns ids and grid positions); `bounds` fixes the axis."""
    defaults: dict[str, Any] = {"unit": unit}
    if bounds:
        defaults.update(min=bounds[0], max=bounds[1])
    if thresholds:
        defaults["thresholds"] = thresholds
        defaults["color"] = {"mode": "thresholds"} if kind in ("stat", "bargauge") else {"mode": "palette-classic"}
    if custom:
        defaults["custom"] = custom
    out: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options or {},
        "targets": list(targets),
    }
    return out


def timeseries(
    title: str, description: str, targets: Sequence[Target], unit: str, *, line: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    """A time series panel; `line` draws thresholds as lines (the alert levels)."""
    custom: dict[str, Any] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}
    if line:
        custom["thresholdsStyle"] = {"mode": "line+area"}
    if kw.pop("bars", False):
        custom.update(drawStyle="bars", fillOpacity=80, stacking={"mode": "normal", "group": "A"})
    opts = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]}}
    return panel(
        "timeseries",
        title,
        description,
        targets,
        unit,
        thresholds=line,
        custom=custom,
        options={**opts, "tooltip": {"mode": "multi", "sort": "desc"}},
        **kw,
    )


def stat(title: str, description: str, expr: str, unit: str, levels: dict[str, Any] | None = None) -> dict[str, Any]:
    """A single number (instant query)."""
    return panel(
        "stat",
        title,
        description,
        [target(expr, instant=True)],
        unit,
        thresholds=levels or steps(),
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "value",
        },
    )


def table(
    title: str,
    description: str,
    targets: Sequence[Target],
    unit: str,
    rename: dict[str, str],
    hide: Sequence[str] = ("Time", "__name__", "job"),
    units: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Instant queries merged on their labels; `rename` maps fields (e.g. 'Value #A') to column titles."""
    p = panel("table", title, description, targets, unit, options={"showHeader": True, "cellHeight": "sm"})
    p["transformations"] = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": dict.fromkeys(hide, True), "renameByName": rename}},
    ]
    p["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byName", "options": name}, "properties": [{"id": "unit", "value": u}]}
        for name, u in (units or {}).items()
    ]
    return p


def layout(rows: Sequence[Sequence[tuple[dict[str, Any], int, int]]]) -> list[dict[str, Any]]:
    """Rows of (panel, width, height) on Grafana's 24-column grid; ids in order."""
    panels, y, ident = [], 0, 1
    for line in rows:
        x, tallest = 0, 0
        for p, w, h in line:
            if x + w > 24:
                x, y = 0, y + tallest
                tallest = 0
            panels.append({**p, "id": ident, "gridPos": {"h": h, "w": w, "x": x, "y": y}})
            ident, x, tallest = ident + 1, x + w, max(tallest, h)
        y += tallest
    return panels


def variable(name: str, label: str, query: str, multi: bool) -> dict[str, Any]:
    """A query variable over label values, refreshed on time-range change."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "current": {},
        "hide": 0,
        "regex": "",
        "options": [],
    }


def variables(per_root: bool) -> list[dict[str, Any]]:
    """datasource, job, instance (and root)."""
    out = [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": [],
        },
        variable("job", "Job", "label_values(modelcache_exporter_build_info, job)", multi=False),
        variable("instance", "Instance", 'label_values(modelcache_exporter_build_info{job=~"$job"}, instance)', True),
    ]
    if per_root:
        out.append(variable("root", "Cache root", f"label_values(modelcache_root_info{{{SEL}}}, root)", True))
    return out


def dashboard(uid: str, title: str, description: str, panels: list[dict[str, Any]], per_root: bool) -> dict[str, Any]:
    """A whole dashboard in Grafana's JSON model."""
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": TAGS,
        "timezone": "",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [
            {
                "title": "Model cache",
                "type": "dashboards",
                "tags": TAGS[:1],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": variables(per_root)},
        "panels": panels,
    }


def overview() -> dict[str, Any]:
    """On-call: is the cache where it should be, is it full, did the web UI load from it, what fires."""
    warn, crit, load = T["disk_usage_warning"], T["disk_usage_critical"], T["load_seconds"]
    disk_levels = steps(("orange", warn), ("red", crit))
    alerts = 'ALERTS{alertname=~"ModelCache.*", job=~"$job"}'
    firing = 'count(ALERTS{alertname=~"ModelCache.*", job=~"$job", alertstate="firing"}) or vector(0)'
    panels = [
        [
            (
                stat(
                    "Alerts firing",
                    "ModelCache alerts firing now.",
                    firing,
                    "none",
                    steps(("red", 1)),
                ),
                4,
                4,
            ),
            (
                stat(
                    "Fullest cache disk",
                    f"Highest usage of the filesystems under the cache roots (alert at {warn:.0%} and {crit:.0%}).",
                    f"max(modelcache_filesystem_usage_ratio{{{SEL}}})",
                    "percentunit",
                    disk_levels,
                ),
                4,
                4,
            ),
            (
                stat(
                    "Last model load",
                    f"Duration of the web UI's last model load (alert above {load}s).",
                    f"max(modelcache_webui_last_load_duration_seconds{{{SEL}}})",
                    "s",
                    steps(("red", load)),
                ),
                4,
                4,
            ),
            (
                stat(
                    "Loading for",
                    "How long the current load has been running (0: not loading).",
                    f"max(modelcache_webui_load_in_progress_seconds{{{SEL}}})",
                    "s",
                    steps(("orange", load)),
                ),
                4,
                4,
            ),
            (
                stat(
                    "Required models complete",
                    "Share of required models present with every file.",
                    f"avg(modelcache_required_model_complete{{{SEL}}})",
                    "percentunit",
                    {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
                ),
                4,
                4,
            ),
            (
                stat(
                    "Unexpected re-downloads",
                    "Models downloaded again in the shown time range although the "
                    "cache had them: the cache was lost or misplaced.",
                    f"sum(increase(modelcache_unexpected_redownloads_total{{{SEL}}}[$__range])) or vector(0)",
                    "none",
                    steps(("red", 1)),
                ),
                4,
                4,
            ),
        ],
        [
            (
                timeseries(
                    "Disk usage per cache root",
                    f"Share of each cache filesystem a download cannot use; "
                    f"lines at the alert levels ({warn:.0%} warning, {crit:.0%} critical).",
                    [target(f"modelcache_filesystem_usage_ratio{{{SEL}}}", "{{instance}} {{root}}")],
                    "percentunit",
                    line=disk_levels,
                    bounds=(0, 1),
                ),
                12,
                8,
            ),
            (
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
                12,
                8,
            ),
        ],
        [
            (
                timeseries(
                    "Downloads by verdict",
                    "Artifacts arriving complete in the caches: first download, a new "
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
                12,
                8,
            ),
            (
                timeseries(
                    "Unexpected re-downloads per model",
                    "Re-downloads by repo: each is a lost cache hit.",
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
                12,
                8,
            ),
        ],
        [
            (
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
                12,
                8,
            ),
            (
                table(
                    "Alerts firing or pending",
                    "ModelCache alerts now; the runbook link is in each alert.",
                    [target(alerts, instant=True)],
                    "none",
                    {},
                    hide=("Time", "__name__", "Value", "job"),
                ),
                12,
                8,
            ),
        ],
        [
            (
                timeseries(
                    "Downloads in progress and stalled",
                    "Partial downloads in the caches, and those that stopped growing.",
                    [
                        target(f"modelcache_downloads_in_progress{{{SEL}}}", "in progress {{instance}} {{root}}"),
                        target(f"modelcache_downloads_stalled{{{SEL}}}", "stalled {{instance}} {{root}}", "B"),
                    ],
                    "none",
                ),
                12,
                8,
            ),
            (
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
                12,
                8,
            ),
        ],
    ]
    return dashboard(
        "modelcache-overview",
        "Model cache / On-call overview",
        "Is the model cache where the web UI looks, is it full, did the last load read from it.",
        layout(panels),
        per_root=False,
    )


def capacity() -> dict[str, Any]:
    """Capacity planning: size per root and model over time, growth, time until full."""
    year = 365 * 86400
    until_full = (
        f"clamp_max(modelcache_filesystem_avail_bytes{{{RSEL}}} / clamp_min(-deriv("
        f"modelcache_filesystem_avail_bytes{{{RSEL}}}[1d]), 0), {year})"
    )
    panels = [
        [
            (
                stat(
                    "Cache size",
                    "Bytes in the selected cache roots.",
                    f"sum(modelcache_root_size_bytes{{{RSEL}}})",
                    "bytes",
                ),
                6,
                4,
            ),
            (
                stat(
                    "Reclaimable",
                    "Unreferenced blobs and partial downloads (hf cache prune).",
                    f"sum(modelcache_root_unreferenced_bytes{{{RSEL}}}) + sum(modelcache_root_incomplete_bytes"
                    f"{{{RSEL}}})",
                    "bytes",
                ),
                6,
                4,
            ),
            (stat("Models", "Models in the selected roots.", f"sum(modelcache_root_models{{{RSEL}}})", "none"), 6, 4),
            (
                stat(
                    "Shortest time until full",
                    "At the trend of the last day (capped at a year: not filling up).",
                    f"min({until_full})",
                    "s",
                    {
                        "mode": "absolute",
                        "steps": [
                            {"color": "red", "value": None},
                            {"color": "orange", "value": 4 * 3600},
                            {"color": "green", "value": 7 * 86400},
                        ],
                    },
                ),
                6,
                4,
            ),
        ],
        [
            (
                timeseries(
                    "Cache size per root",
                    "Bytes of complete files per root, each physical file once.",
                    [target(f"modelcache_root_size_bytes{{{RSEL}}}", "{{instance}} {{root}}")],
                    "bytes",
                ),
                12,
                8,
            ),
            (
                timeseries(
                    "Cache size per model",
                    "Bytes each model's snapshots reference.",
                    [target(f"modelcache_model_size_bytes{{{RSEL}}}", "{{instance}} {{root}} {{repo}}")],
                    "bytes",
                ),
                12,
                8,
            ),
        ],
        [
            (
                timeseries(
                    "Growth rate per root",
                    "Change of the cache size, per second, over the last hour.",
                    [target(f"deriv(modelcache_root_size_bytes{{{RSEL}}}[1h])", "{{instance}} {{root}}")],
                    "Bps",
                ),
                12,
                8,
            ),
            (
                timeseries(
                    "Time until full per root",
                    "Free space divided by its shrink rate over the last day; a year means it is not filling up.",
                    [target(until_full, "{{instance}} {{root}}")],
                    "s",
                ),
                12,
                8,
            ),
        ],
        [
            (
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
                12,
                8,
            ),
            (
                timeseries(
                    "Reclaimable space per root",
                    "Unreferenced blobs and partial downloads.",
                    [
                        target(f"modelcache_root_unreferenced_bytes{{{RSEL}}}", "unreferenced {{instance}} {{root}}"),
                        target(f"modelcache_root_incomplete_bytes{{{RSEL}}}", "partial {{instance}} {{root}}", "B"),
                    ],
                    "bytes",
                ),
                12,
                8,
            ),
        ],
        [
            (
                timeseries(
                    "Inodes used per root",
                    "Share of inodes in use on each cache filesystem.",
                    [target(f"modelcache_filesystem_files_usage_ratio{{{RSEL}}}", "{{instance}} {{root}}")],
                    "percentunit",
                    line=steps(("orange", T["inodes_usage_warning"]), ("red", T["inodes_usage_critical"])),
                ),
                12,
                8,
            ),
            (
                table(
                    "Largest models",
                    "The 25 largest models in the selected roots.",
                    [target(f"topk(25, modelcache_model_size_bytes{{{RSEL}}})", ref="A", instant=True)],
                    "bytes",
                    {"Value": "size"},
                ),
                12,
                8,
            ),
        ],
    ]
    return dashboard(
        "modelcache-capacity",
        "Model cache / Capacity planning",
        "Cache size per root and model over time, growth, and time until each filesystem is full.",
        layout(panels),
        per_root=True,
    )


def io() -> dict[str, Any]:
    """IO of the disks under the caches: latency, throughput, utilisation, and the active probe."""
    ri = "[$__rate_interval]"

    def per_op(what: str, legend: str) -> list[Target]:
        return [
            target(what.format(op="read", ops="reads"), "read " + legend),
            target(what.format(op="write", ops="writes"), "write " + legend, "B"),
        ]

    who = "{{instance}} {{root}} {{device}}"
    panels = [
        [
            (
                timeseries(
                    "Latency per IO",
                    "Average time per completed read and write (what model loads wait for).",
                    per_op(
                        f"rate(modelcache_disk_{{op}}_time_seconds_total{{{{{RSEL}}}}}{ri}) / "
                        f"rate(modelcache_disk_{{ops}}_completed_total{{{{{RSEL}}}}}{ri})",
                        who,
                    ),
                    "s",
                    line=steps(("red", T["io_latency_seconds"])),
                ),
                12,
                8,
            ),
            (
                timeseries(
                    "Throughput",
                    "Bytes read and written per second.",
                    [
                        target(f"rate(modelcache_disk_read_bytes_total{{{RSEL}}}{ri})", "read " + who),
                        target(f"rate(modelcache_disk_written_bytes_total{{{RSEL}}}{ri})", "write " + who, "B"),
                    ],
                    "Bps",
                ),
                12,
                8,
            ),
        ],
        [
            (
                timeseries(
                    "IOPS",
                    "Reads and writes completed per second.",
                    per_op(f"rate(modelcache_disk_{{ops}}_completed_total{{{{{RSEL}}}}}{ri})", who),
                    "iops",
                ),
                8,
                8,
            ),
            (
                timeseries(
                    "Utilisation",
                    "Share of time the device had IO in flight.",
                    [target(f"rate(modelcache_disk_io_time_seconds_total{{{RSEL}}}{ri})", who)],
                    "percentunit",
                ),
                8,
                8,
            ),
            (
                timeseries(
                    "Queue depth",
                    "Average IOs in flight (aqu-sz).",
                    [target(f"rate(modelcache_disk_io_time_weighted_seconds_total{{{RSEL}}}{ri})", who)],
                    "short",
                ),
                8,
                8,
            ),
        ],
        [
            (
                timeseries(
                    "Probe latency (p90) per step",
                    "The active probe's write, fsync, read and unlink of "
                    "4 KiB on each cache filesystem (works on NFS and overlay too).",
                    [
                        target(
                            f"histogram_quantile({T['probe_quantile']}, sum by (instance, root, op, le) "
                            f"(rate(modelcache_probe_duration_seconds_bucket{{{RSEL}}}{ri})))",
                            "{{instance}} {{root}} {{op}}",
                        )
                    ],
                    "s",
                    line=steps(("red", T["probe_latency_seconds"])),
                ),
                12,
                8,
            ),
            (
                timeseries(
                    "Probe failures",
                    "Probe runs that failed.",
                    [target(f"increase(modelcache_probe_errors_total{{{RSEL}}}{ri})", "{{instance}} {{root}}")],
                    "none",
                    bars=True,
                ),
                12,
                8,
            ),
        ],
    ]
    return dashboard(
        "modelcache-io",
        "Model cache / IO",
        "IO latency, throughput and utilisation of the disks under the model caches, and the active probe.",
        layout(panels),
        per_root=True,
    )


DASHBOARDS = {"modelcache-overview.json": overview, "modelcache-capacity.json": capacity, "modelcache-io.json": io}


def provisioning() -> dict[str, str]:
    """Grafana provisioning files (datasource with a fixed uid; a file provider for the dashboards)."""
    datasource = f"""\
# Grafana datasource provisioning: copy to /etc/grafana/provisioning/datasources/ and set url.
# timeInterval should equal the scrape interval of the exporter's job ($__rate_interval builds on it).
apiVersion: 1
datasources:
  - name: Prometheus
    uid: {DATASOURCE_UID}
    type: prometheus
    access: proxy
    url: http://prometheus:9090
    isDefault: false
    jsonData:
      timeInterval: 15s
"""
    dashboards = f"""\
# Grafana dashboard provisioning: copy to /etc/grafana/provisioning/dashboards/ and the dashboards/*.json
# files to {DASHBOARD_DIR}/.
apiVersion: 1
providers:
  - name: modelcache-exporter
    orgId: 1
    folder: Model cache
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 60
    options:
      path: {DASHBOARD_DIR}
"""
    return {
        "provisioning/datasources/modelcache.yaml": datasource,
        "provisioning/dashboards/modelcache.yaml": dashboards,
    }


def render() -> dict[str, str]:
    """{path relative to dashboards/: text} of every generated file."""
    out = {name: json.dumps(build(), indent=2, sort_keys=False) + "\n" for name, build in DASHBOARDS.items()}
    out.update(provisioning())
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Write every file; with --check, exit 1 if one differs instead."""
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    stale = []
    for name, text in render().items():
        path = HERE / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print("out of date (run python dashboards/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
