"""Every metric the alert rules and the dashboards name is in the exporter's output, with samples, after the
scenario of tests/scenario.py (so families that only appear after events are covered too)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import scenario
import yaml
from helpers import REPO_ROOT
from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"\b(modelcache_[a-z0-9_]+|process_[a-z0-9_]+)\b")


def referenced() -> dict[str, set[str]]:
    """{metric name: where it is used} over alerts/modelcache.rules.yml and dashboards/*.json."""
    out: dict[str, set[str]] = {}
    rules = yaml.safe_load((REPO_ROOT / "alerts" / "modelcache.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            for name in NAME.findall(rule["expr"]):
                out.setdefault(name, set()).add(rule.get("alert") or rule["record"])
    for path in sorted((REPO_ROOT / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
        exprs += [v["definition"] for v in board["templating"]["list"] if "definition" in v]
        for expr in exprs:
            for name in NAME.findall(expr):
                out.setdefault(name, set()).add(path.name)
    return out


def test_the_rules_and_dashboards_name_metrics() -> None:
    names = referenced()
    assert len(names) > 40
    assert "modelcache_filesystem_usage_ratio" in names and "modelcache_unexpected_redownloads_total" in names


def test_every_referenced_metric_is_exported(tmp_path: Path) -> None:
    with scenario.running(tmp_path) as s:
        scenario.play(s)
        text = s.exporter.metrics()
    exported = {sample.name for fam in text_string_to_metric_families(text) for sample in fam.samples}
    missing = {name: sorted(where) for name, where in referenced().items() if name not in exported}
    assert not missing, f"named in alerts/ or dashboards/ but not exported: {missing}"
