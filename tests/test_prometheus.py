"""The rules and dashboards against a real Prometheus (Debian's `prometheus`) scraping a real exporter.

Prometheus runs on 127.0.0.1 with a 1 s scrape and evaluation interval and the generated rule file loaded;
the exporter goes through the scenario of tests/scenario.py. Then every alert expression and every dashboard
query (Grafana variables replaced by concrete values) is evaluated through the HTTP API: none may error,
every dashboard query must return data, every rule must evaluate healthy, and the template variables'
label queries must find the scenario's job, instance and root.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import scenario
import yaml
from helpers import REPO_ROOT, free_port, require_tool, wait_for

RULES = REPO_ROOT / "alerts" / "modelcache.rules.yml"
JOB = "modelcache-exporter"


class Prometheus:
    """A Prometheus server on 127.0.0.1 scraping one target every second."""

    def __init__(self, binary: str, tmp: Path, target: str) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [target]}]}],
        }
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log_path = tmp / "prometheus.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address={self.url.removeprefix('http://')}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"prometheus exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
        try:
            return requests.get(self.url + "/-/ready", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def api(self, path: str, **params: Any) -> Any:
        """GET /api/v1/<path>; the `data` of a success, else the test fails with Prometheus' error."""
        r = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (or the scalar/matrix as a list)."""
        data = self.api("query", query=expr)
        return data["result"] if isinstance(data["result"], list) else [data["result"]]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[scenario.Scenario, Prometheus]]:
    """The scenario played while Prometheus scrapes it, with a few samples of every series afterwards."""
    binary = require_tool("prometheus")
    tmp_path = tmp_path_factory.mktemp("world")
    with scenario.running(tmp_path) as s:
        prom = Prometheus(binary, tmp_path, f"127.0.0.1:{s.exporter.port}")
        try:
            wait_for(prom.ready, 30, interval=0.1, what="prometheus /-/ready")
            wait_for(lambda: prom.query(f'count_over_time(up{{job="{JOB}"}}[1m]) >= 2'), 20, 0.2, "two scrapes")
            scenario.play(s)
            wait_for(
                lambda: prom.query('min_over_time(modelcache_downloads_stalled{root="hub"}[3s]) == 1'),
                20,
                0.2,
                "three scrapes after the damage",
            )
            yield s, prom
        finally:
            prom.stop()


def grafana_to_promql(expr: str, instance: str) -> str:
    """A dashboard query as Grafana would send it for job, this instance, root hub."""
    for var, value in (
        ("$__rate_interval", "5s"),
        ("$__range_s", "300"),
        ("$__range", "5m"),
        ("$job", JOB),
        ("$instance", instance),  # a single value: Grafana passes it as is
        ("$root", "hub"),
    ):
        expr = expr.replace(var, value)
    assert "$" not in expr, expr
    return expr


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) for every target."""
    out = []
    for path in sorted((REPO_ROOT / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        out += [(path.name, p["title"], t["expr"]) for p in board["panels"] for t in p.get("targets", [])]
    return out


def test_rules_and_dashboards_against_prometheus(world: tuple[scenario.Scenario, Prometheus]) -> None:
    s, prom = world
    instance = f"127.0.0.1:{s.exporter.port}"
    assert prom.query(f'up{{job="{JOB}"}} == 1')

    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    for rule in rules:
        prom.query(rule["expr"])  # fails the test on any error

    def evaluated() -> list[dict[str, Any]]:
        loaded = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
        return loaded if all(not r["lastEvaluation"].startswith("0001") for r in loaded) else []

    loaded = wait_for(evaluated, 10, 0.2, "every rule evaluated once")
    assert len(loaded) == len(rules)
    unhealthy = [(r["name"], r.get("lastError")) for r in loaded if r["health"] != "ok"]
    assert not unhealthy

    # the scenario's missing root and missing required model make alerts pending (and the overview's
    # ALERTS panels have data); the model found nowhere has no root label
    assert prom.query('ALERTS{alertname="ModelCacheRootMissing", root="checkpoints", alertstate="pending"}')
    pending = 'ALERTS{alertname="ModelCacheRequiredModelMissing", model="org/absent", root="", alertstate="pending"}'
    wait_for(lambda: prom.query(pending), 10, 0.2, pending)

    empty = []
    for board, title, expr in dashboard_queries():
        if not prom.query(grafana_to_promql(expr, instance)):
            empty.append(f"{board} / {title}: {expr}")
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)


def test_template_variables_find_the_scenario(world: tuple[scenario.Scenario, Prometheus]) -> None:
    s, prom = world
    want = {"job": JOB, "instance": f"127.0.0.1:{s.exporter.port}", "root": "hub"}
    for path in sorted((REPO_ROOT / "dashboards").glob("*.json")):
        for var in json.loads(path.read_text())["templating"]["list"]:
            if var["type"] != "query":
                continue
            m = re.fullmatch(r"label_values\((.+), (\w+)\)", var["definition"])
            assert m, var["definition"]
            selector = grafana_to_promql(m.group(1), want["instance"])
            values = prom.api(f"label/{m.group(2)}/values", **{"match[]": selector})
            assert want[var["name"]] in values, (path.name, var["name"], values)


# The overview's incident tiles on the scenario: root `checkpoints` missing, `hub` wiped and org/tts (3 files)
# downloaded again, then a dangling ref and a partial download untouched for an hour; org/absent nowhere.
INCIDENT = {
    "Cache roots missing": 1,
    "Roots wiped": 1,
    "Models downloaded again": 1,  # one model, although three files
    "Files downloaded again": 3,
    "Corrupt entries": 1,
    "Required models missing": 1,
    "Downloads stalled": 1,
    "Downloads running": 0,
}


def overview_panels() -> dict[str, dict[str, Any]]:
    board = json.loads((REPO_ROOT / "dashboards" / "modelcache-overview.json").read_text())
    return {p["title"]: p for p in board["panels"]}


def test_incident_panels_count_the_incident(world: tuple[scenario.Scenario, Prometheus]) -> None:
    s, prom = world
    instance = f"127.0.0.1:{s.exporter.port}"
    panels = overview_panels()
    got = {}
    for title in INCIDENT:
        (result,) = prom.query(grafana_to_promql(panels[title]["targets"][0]["expr"], instance))
        got[title] = float(result["value"][1])
    assert got == INCIDENT
    ephemeral = sum(float(r["value"][1]) for r in prom.query(f"modelcache_filesystem_ephemeral{{job='{JOB}'}}"))
    (eph,) = prom.query(grafana_to_promql(panels["Roots on ephemeral storage"]["targets"][0]["expr"], instance))
    assert float(eph["value"][1]) == ephemeral  # /tmp's storage decides; the tile counts those roots


def test_incident_tables_name_the_roots_and_models(world: tuple[scenario.Scenario, Prometheus]) -> None:
    s, prom = world
    instance = f"127.0.0.1:{s.exporter.port}"
    panels = overview_panels()

    def column(title: str, ref: str) -> dict[tuple[str, ...], float]:
        (t,) = [t for t in panels[title]["targets"] if t["refId"] == ref]
        rows = prom.query(grafana_to_promql(t["expr"], instance))
        return {(r["metric"]["root"], r["metric"].get("repo", "")): float(r["value"][1]) for r in rows}

    assert column("Cache roots", "A") == {("hub", ""): 1, ("checkpoints", ""): 0}  # present
    assert column("Cache roots", "C") == {("hub", ""): 1, ("checkpoints", ""): 0}  # corrupt entries
    assert column("Cache roots", "D")[("hub", "")] == 1 and column("Cache roots", "E")[("hub", "")] == 1
    (wiped,) = column("Cache roots", "F").items()
    assert wiped[0] == ("hub", "") and abs(wiped[1] / 1000 - time.time()) < 120
    assert column("Models with problems", "A") == {("hub", "org/tts"): 1}  # the dangling ref
    assert column("Models with problems", "B") == {("hub", "org/tts"): 1}  # the stalled partial file
    assert column("Models with problems", "C") == {("hub", "org/tts"): 1000}
