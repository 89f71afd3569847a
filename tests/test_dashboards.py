"""Grafana dashboards: committed JSON equals a fresh generation, and every panel follows the conventions
(datasource variable, job/instance variables, a unit, fixed uid, `$__rate_interval` windows)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from helpers import REPO_ROOT

import mixin.dashboards as gen
from mixin.config import CORRUPTION_KINDS, THRESHOLDS

DASHBOARDS = REPO_ROOT / "dashboards"
UIDS = {
    "modelcache-overview.json": "modelcache-overview",
    "modelcache-capacity.json": "modelcache-capacity",
    "modelcache-io.json": "modelcache-io",
    "modelcache-fleet.json": "modelcache-fleet",
}
DS = {"type": "prometheus", "uid": "${datasource}"}


def dashboards() -> dict[str, dict[str, Any]]:
    return {name: json.loads((DASHBOARDS / name).read_text()) for name in UIDS}


def targets(board: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(p, t) for p in board["panels"] for t in p.get("targets", [])]


def test_committed_files_equal_a_fresh_generation() -> None:
    rendered = gen.render()
    assert set(rendered) == {
        *UIDS,
        "provisioning/datasources/modelcache.yaml",
        "provisioning/dashboards/modelcache.yaml",
    }
    for name, text in rendered.items():
        assert (DASHBOARDS / name).read_text() == text, f"dashboards/{name} is stale: run python -m mixin"
    assert sorted(p.name for p in DASHBOARDS.glob("*.json")) == sorted(UIDS)


@pytest.mark.parametrize("name", sorted(UIDS))
def test_dashboard_conventions(name: str) -> None:
    board = dashboards()[name]
    assert board["uid"] == UIDS[name] and len(board["uid"]) <= 40
    assert "id" not in board  # Grafana assigns ids; uid is what links and provisioning use
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for var in ("job", "instance"):
        assert variables[var]["type"] == "query" and variables[var]["datasource"] == DS
    assert "$job" in variables["instance"]["definition"]
    per_root = name != "modelcache-overview.json"
    assert ("root" in variables) == per_root
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for p in board["panels"]:
        assert p["datasource"] == DS, p["title"]
        assert p["fieldConfig"]["defaults"].get("unit"), f"{p['title']}: no unit"
        assert p["description"] and p["targets"], p["title"]
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24 and g["w"] > 0 and g["h"] > 0
    for p, t in targets(board):
        expr = t["expr"]
        assert t["datasource"] == DS
        assert 'job=~"$job"' in expr, f"{p['title']}: {expr}"
        if "ALERTS{" not in expr:  # alerts of a whole job (drift, absent) have no instance
            assert 'instance=~"$instance"' in expr, f"{p['title']}: {expr}"
        if per_root and "modelcache_" in expr:
            assert 'root=~"$root"' in expr, f"{p['title']}: {expr}"
        for fn, window in re.findall(r"\b(rate|irate|increase)\([^\[]*\[([^\]]+)\]", expr):
            assert window in ("$__rate_interval", "$__range"), f"{p['title']}: {fn} over {window}"


def test_panels_do_not_overlap() -> None:
    for name, board in dashboards().items():
        cells: set[tuple[int, int]] = set()
        for p in board["panels"]:
            g = p["gridPos"]
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not cells & mine, f"{name}: {p['title']} overlaps"
            cells |= mine


def test_uids_are_unique_and_titles_carry_the_folder_prefix() -> None:
    boards = dashboards().values()
    assert len({b["uid"] for b in boards}) == len(UIDS)
    assert all(b["title"].startswith("Model cache / ") for b in boards)


def test_alert_levels_are_drawn_from_the_alert_thresholds() -> None:
    alerts = THRESHOLDS
    overview = dashboards()["modelcache-overview.json"]
    disk = next(p for p in overview["panels"] if p["title"] == "Disk usage per cache root")
    levels = [s["value"] for s in disk["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert levels == [None, alerts["disk_usage_warning"], alerts["disk_usage_critical"]]
    assert disk["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] != "off"
    load = next(p for p in overview["panels"] if p["title"] == "Model load time")
    assert load["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == alerts["load_seconds"]


def test_provisioning_files() -> None:
    ds = yaml.safe_load((DASHBOARDS / "provisioning/datasources/modelcache.yaml").read_text())
    assert ds["apiVersion"] == 1
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["uid"] == "modelcache-prometheus"
    prov = yaml.safe_load((DASHBOARDS / "provisioning/dashboards/modelcache.yaml").read_text())
    assert prov["apiVersion"] == 1
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")


# Series that count files (artifacts), never models: a panel reading them says "files".
FILE_COUNTS = (
    "modelcache_downloads_total",
    "modelcache_unexpected_redownloads_total",
    "modelcache_downloads_in_progress",
    "modelcache_downloads_stalled",
    "modelcache_downloads_active",
)
INCIDENT_PANELS = {
    "Cache roots missing",
    "Roots on ephemeral storage",
    "Roots wiped",
    "Models downloaded again",
    "Corrupt entries",
    "Required models missing",
    "Downloads running",
    "Downloads stalled",
    "Files downloaded again",
    "Cache roots",
    "Models with problems",
    "Required models",
}


def test_counts_say_whether_they_count_files_or_models() -> None:
    for name, board in dashboards().items():
        for p in board["panels"]:
            exprs = " ".join(t["expr"] for t in p["targets"])
            text = f"{p['title']} {p['description']}".lower()
            if any(m in exprs for m in FILE_COUNTS):
                assert "files" in text, f"{name}: {p['title']} counts files without saying so"
            if p["type"] == "stat" and "models" in p["title"].lower():
                counts_files = any(m in exprs for m in FILE_COUNTS) or "_files" in exprs
                assert not counts_files, f"{name}: {p['title']} counts files, not models"


def test_overview_has_the_incident_panels() -> None:
    overview = {p["title"]: p for p in dashboards()["modelcache-overview.json"]["panels"]}
    assert set(overview) >= INCIDENT_PANELS
    models = overview["Models downloaded again"]["targets"][0]["expr"]
    assert models.startswith("count(count by (instance, root, repo) (") and "redownload_timestamp" in models
    assert "$__range_s" in models  # the shown range, from the ledger's timestamp (kept across restarts)
    corrupt = overview["Corrupt entries"]["targets"][0]["expr"]
    assert (
        f'kind=~"{CORRUPTION_KINDS}"' in corrupt
        and CORRUPTION_KINDS in (REPO_ROOT / "alerts" / "modelcache.rules.yml").read_text()
    )
