"""Panel builders: typed helpers that produce exactly the JSON Grafana stores, and the grid layout.

Every panel uses the `${datasource}` variable; SEL (and RSEL, per cache root) are the matchers of the
dashboards' `$job`/`$instance` (and `$root`) variables that every query carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance"'
RSEL = SEL + ', root=~"$root"'
GRID_COLUMNS = 24  # Grafana's grid width


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
    t["instant"], t["range"] = instant, not instant
    if instant:
        t["format"] = "table"
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


@dataclass(frozen=True)
class Cell:
    """One panel's place in a row: its size on the grid (`width` of GRID_COLUMNS, `height` in grid units)."""

    panel: dict[str, Any]
    width: int = 12
    height: int = 8


def layout(rows: Sequence[Sequence[Cell]]) -> list[dict[str, Any]]:
    """Rows of cells on Grafana's grid (a row wraps when full); ids and grid positions in order."""
    panels, y, ident = [], 0, 1
    for line in rows:
        x, tallest = 0, 0
        for cell in line:
            if x + cell.width > GRID_COLUMNS:
                x, y = 0, y + tallest
                tallest = 0
            grid = {"h": cell.height, "w": cell.width, "x": x, "y": y}
            panels.append({**cell.panel, "id": ident, "gridPos": grid})
            ident, x, tallest = ident + 1, x + cell.width, max(tallest, cell.height)
        y += tallest
    return panels
