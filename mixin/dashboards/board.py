"""A whole dashboard in Grafana's JSON model: its variables, links, annotations and panels."""

from __future__ import annotations

from typing import Any

from mixin.dashboards.panels import DS, SEL

TAGS = ["modelcache", "model-cache"]
# The dropdown of every dashboard tagged `modelcache`, keeping the time range and variables.
LINKS: list[dict[str, Any]] = [
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
]
# Grafana's built-in annotation of alerts and annotations, hidden.
ANNOTATIONS: dict[str, Any] = {
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
}


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
        "links": LINKS,
        "annotations": ANNOTATIONS,
        "templating": {"list": variables(per_root)},
        "panels": panels,
    }
