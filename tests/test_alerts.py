"""Alert rules: generated files are fresh, promtool accepts and unit-tests them, every alert has its cases,
annotations and a runbook section.

The promtool cases live in tests/rules/*.yml (kubernetes-mixin style: "X fires when Y" with an evaluation
before `for:` elapses and one after with exact labels and annotations, plus "X does not fire when <guard>").
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO_ROOT, require_tool

import mixin.alerts as gen

ALERTS = REPO_ROOT / "alerts"
RULES = ALERTS / "modelcache.rules.yml"
OPERATOR = ALERTS / "prometheusrule.yaml"
RUNBOOK = ALERTS / "RUNBOOK.md"
TESTS = sorted((Path(__file__).parent / "rules").glob("*.yml"))


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_committed_rules_equal_a_fresh_generation() -> None:
    for name, text in gen.render().items():
        assert (ALERTS / name).read_text() == text, f"alerts/{name} is stale: run python -m mixin"


def test_prometheusrule_holds_the_same_groups() -> None:
    operator = yaml.safe_load(OPERATOR.read_text())
    assert operator["apiVersion"] == "monitoring.coreos.com/v1"
    assert operator["kind"] == "PrometheusRule"
    assert operator["metadata"]["labels"]["prometheus"] == "k8s"
    assert operator["metadata"]["labels"]["role"] == "alert-rules"
    assert operator["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_promtool_check_rules(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    spec = tmp_path / "from-prometheusrule.yml"
    spec.write_text(yaml.safe_dump({"groups": yaml.safe_load(OPERATOR.read_text())["spec"]["groups"]}))
    for path in (RULES, spec):
        proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        records = sum(1 for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "record" in r)
        assert records == 2 and f"SUCCESS: {len(rules()) + records} rules found" in proc.stdout


def test_promtool_test_rules() -> None:
    promtool = require_tool("promtool")
    assert TESTS
    proc = subprocess.run(
        [promtool, "test", "rules", *(p.name for p in TESTS)], capture_output=True, text=True, cwd=TESTS[0].parent
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(TESTS), proc.stdout


def _cases() -> list[tuple[str, dict[str, Any]]]:
    """(test name, evaluation) for every alert_rule_test evaluation of every test file."""
    out = []
    for path in TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            assert test["name"].startswith("ModelCache"), test["name"]
            out.extend((test["name"], ev) for ev in test.get("alert_rule_test", []))
    return out


def test_every_alert_has_firing_and_silent_cases() -> None:
    """Each (alert, severity) fires in some case with exact labels and all three annotations; each alert has
    an evaluation that must not fire, and a case named "... does not fire ..." for its guard."""
    cases = _cases()
    names = {n for n, _ in cases}
    for r in rules():
        alert, severity = r["alert"], r["labels"]["severity"]
        evals = [(n, ev) for n, ev in cases if ev["alertname"] == alert]
        firing = [
            a
            for _, ev in evals
            for a in ev["exp_alerts"]
            if a["exp_labels"].get("severity") == severity
            and set(a.get("exp_annotations", {})) == {"summary", "description", "runbook_url"}
        ]
        assert firing, f"no firing case with exact annotations for {alert} ({severity})"
        assert any(not ev["exp_alerts"] for _, ev in evals), f"no not-firing evaluation for {alert}"
        assert any(n.startswith(alert + " does not fire") for n in names), f"no guard case for {alert}"
        if "for" in r:
            by_test: dict[str, list[bool]] = {}
            for n, ev in evals:
                by_test.setdefault(n, []).append(bool(ev["exp_alerts"]))
            assert any(True in v and False in v for v in by_test.values()), (
                f"{alert}: no case shows it still pending before for: {r['for']} elapses, then firing"
            )


def test_every_alert_is_annotated() -> None:
    seen: dict[str, set[str]] = {}
    for r in rules():
        name = r["alert"]
        assert re.fullmatch(r"ModelCache[A-Z][A-Za-z]+", name), name
        assert set(r["labels"]) == {"severity"} and r["labels"]["severity"] in {"warning", "critical"}
        ann = r["annotations"]
        assert set(ann) == {"summary", "description", "runbook_url"}
        assert ann["runbook_url"] == f"{gen.RUNBOOK_URL}#{name.lower()}"
        assert ann["summary"].endswith(".") and "{{" not in ann["summary"], name
        assert "$labels.instance" in ann["description"] or "$labels.job" in ann["description"], name
        seen.setdefault(name, set()).add(r["labels"]["severity"])
    assert len(seen) >= 20


def test_runbook_has_a_full_section_per_alert() -> None:
    text = RUNBOOK.read_text()
    assert "TODO" not in text and "TBD" not in text
    sections = dict(re.findall(r"^## (\S+)\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M))
    names = {r["alert"] for r in rules()}
    assert set(sections) == names, set(sections) ^ names
    for name, body in sections.items():
        for part in ("**Meaning.**", "**Impact.**", "**Diagnosis.**", "**Mitigation.**"):
            assert part in body, f"{name}: no {part}"


def test_selector_and_runbook_url_are_configurable() -> None:
    text = gen.render('job="mc",env="prod"', "https://wiki.example/RUNBOOK.md")[gen.RULES_FILE]
    for expr in (r["expr"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]):
        assert "modelcache-exporter" not in expr
        for m in re.finditer(r"\b(modelcache_[a-z_]+|up)\b(?!\s*\()", expr):
            assert expr[m.end() :].startswith('{job="mc",env="prod"'), f"{m.group()} without the selector in {expr}"
    assert "https://wiki.example/RUNBOOK.md#modelcachediskalmostfull" in text


@pytest.mark.parametrize("key", ["disk_usage_warning", "load_seconds", "index_stale_seconds"])
def test_thresholds_come_from_the_table(key: str) -> None:
    """Changing a threshold in THRESHOLDS changes the rules: nothing is hard-coded next to it."""
    before = gen.render()[gen.RULES_FILE]
    old = gen.THRESHOLDS[key]
    try:
        gen.THRESHOLDS[key] = old * 1.5 if isinstance(old, float) else old + 7
        after = gen.render()[gen.RULES_FILE]
    finally:
        gen.THRESHOLDS[key] = old
    assert after != before
