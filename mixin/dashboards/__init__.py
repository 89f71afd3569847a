"""Grafana dashboards of the mixin: typed helpers producing exactly the JSON Grafana stores.

`render()` gives `dashboards/*.json` (on-call overview, capacity planning, IO, fleet) and the Grafana provisioning
files under `dashboards/provisioning/`, which `python -m mixin` writes to dashboards/.

Why plain dicts and not a dashboards-as-code library: grafanalib's last release is from January 2024 and it
emits the old graph panels; grafana-foundation-sdk is maintained but versions itself per Grafana release with
PEP 440 epochs (`1769699998!10.1.0`), is a builder API over the whole schema, and would be one more
dependency for CI to install. Three dashboards of ~30 panels need a dozen fields per panel; the helpers in
mixin.dashboards.panels produce exactly the JSON Grafana stores (so the diff of a change is readable), with no
dependency beyond the standard library. Thresholds (the 85 % line, the 60 s load) come from
mixin.config.THRESHOLDS, the table the alerts use, so the dashboards and the alerts cannot disagree.

Conventions every panel follows (checked by tests/test_dashboards.py): the `${datasource}` variable, `$job`
and `$instance` (and `$root` where per-root), a unit, a fixed dashboard `uid`, and `$__rate_interval` for
rate()/increase() windows (`$__range` for totals over the shown range). Trend windows of `deriv()` are fixed on
purpose: growth and time-until-full are read over an hour or a day, whatever the zoom.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mixin.config import THRESHOLDS, Thresholds
from mixin.dashboards.capacity import capacity
from mixin.dashboards.fleet import fleet
from mixin.dashboards.io import io
from mixin.dashboards.overview import overview

__all__ = ["DASHBOARDS", "render"]

DATASOURCE_UID = "modelcache-prometheus"
DASHBOARD_DIR = "/var/lib/grafana/dashboards/modelcache"
# {file name in dashboards/: builder}
DASHBOARDS: dict[str, Callable[[Thresholds], dict[str, Any]]] = {
    "modelcache-overview.json": overview,
    "modelcache-capacity.json": capacity,
    "modelcache-io.json": io,
    "modelcache-fleet.json": fleet,
}


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


def render(thresholds: Thresholds | None = None) -> dict[str, str]:
    """{path relative to dashboards/: text} of every generated file; `thresholds` replaces THRESHOLDS."""
    t = THRESHOLDS if thresholds is None else thresholds
    out = {name: json.dumps(build(t), indent=2, sort_keys=False) + "\n" for name, build in DASHBOARDS.items()}
    out.update(provisioning())
    return out
