"""Pages, not counters: what the real exporter served during an incident, replayed through the shipped rules.

A `Timeline` is what Prometheus would have stored while it scraped one or more exporter instances: each
`scrape()` takes the real `/metrics` text of a running exporter and files its samples under `job` and the
instance's label at the timeline's clock, then moves the clock one scrape interval on. An instance that is
down scrapes `up 0` and its series go stale, as Prometheus marks them; a target that is gone (a pod
deleted) goes stale whole. `hold()` repeats the last scrape of every live instance for a while (nothing
changed on disk; the `for:` clauses and windows of the rules run their course). Timestamps the exporter
serves (`*_timestamp_seconds`, `*_start_time_seconds`) are moved onto the timeline's clock, their age kept.

`expect()` records which alerts must be firing at that moment — exactly those, with the labels given — and
`verify()` writes one promtool unit test of `alerts/modelcache.rules.yml` (the shipped file, unchanged)
and runs `promtool test rules` on it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT, require_tool
from prometheus_client.parser import text_string_to_metric_families

RULES = REPO_ROOT / "alerts" / "modelcache.rules.yml"
JOB = "modelcache-exporter"
STEP = 15  # seconds between scrapes (the README's scrape interval)
_TIMESTAMP = re.compile(r".*_(timestamp|start_time)_seconds$")

Series = tuple[str, tuple[tuple[str, str], ...]]  # (metric name, sorted labels)


def used_metrics(rules: Path = RULES) -> set[str]:
    """Metric names the rules read (the only series the replay needs)."""
    return set(re.findall(r"\b(modelcache_[a-z_]+|up)\b", rules.read_text()))


def parse_scrape(text: str, wanted: set[str]) -> dict[Series, float]:
    """The samples of one exposition text whose name the rules read."""
    out: dict[Series, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name in wanted:
                out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


@dataclass
class Expected:
    """Alerts that must be firing at `t`: {alertname: [labels of each firing alert]}."""

    t: int
    firing: dict[str, list[dict[str, str]]]
    note: str


@dataclass
class Timeline:
    """Samples of every instance over time, as Prometheus would have stored them."""

    step: int = STEP
    t: int = 0
    values: dict[Series, dict[int, str]] = field(default_factory=dict)
    live: dict[str, dict[Series, float]] = field(default_factory=dict)  # instance -> its last scrape
    checks: list[Expected] = field(default_factory=list)
    wanted: set[str] = field(default_factory=used_metrics)

    def scrape(self, text: str, instance: str, wall: float) -> None:
        """One successful scrape of `instance` (served at wall-clock time `wall`)."""
        got = parse_scrape(text, self.wanted)
        samples = {}
        for (name, labels), v in got.items():
            if _TIMESTAMP.match(name) and v > 0:
                v = self.t - (wall - v)  # the same age on the timeline's clock
            samples[(name, (*labels, ("instance", instance), ("job", JOB)))] = v
        samples[("up", (("instance", instance), ("job", JOB)))] = 1.0
        self._file(instance, samples)
        self.t += self.step

    def down(self, instance: str, seconds: int) -> None:
        """The instance does not answer for `seconds`: `up 0`, everything else stale."""
        for _ in range(max(1, seconds // self.step)):
            self._file(instance, {("up", (("instance", instance), ("job", JOB))): 0.0})
            self.t += self.step

    def gone(self, instance: str) -> None:
        """The target disappears (its pod deleted): every series of it stale."""
        for series in self.live.pop(instance, {}):
            self.values.setdefault(series, {})[self.t] = "stale"

    def hold(self, seconds: int) -> None:
        """Nothing changes for `seconds`: every live instance scraped again with the same values."""
        for _ in range(seconds // self.step):
            for instance, samples in list(self.live.items()):
                self._file(instance, dict(samples))
            self.t += self.step

    def expect(self, note: str, **firing: list[dict[str, str]]) -> None:
        """Exactly these alerts fire now (at the last scrape): alertname -> the labels of each."""
        self.checks.append(Expected(self.t - self.step, {k: list(v) for k, v in firing.items()}, note))

    def _file(self, instance: str, samples: dict[Series, float]) -> None:
        for series in set(self.live.get(instance, {})) - set(samples):
            self.values.setdefault(series, {})[self.t] = "stale"
        for series, v in samples.items():
            self.values.setdefault(series, {})[self.t] = repr(v)
        self.live[instance] = samples

    # -- the promtool test -------------------------------------------------------------------------
    def verify(self, tmp: Path, rules: Path = RULES) -> None:
        """Replay the timeline through `rules` with promtool and check every expectation."""
        promtool = require_tool("promtool")
        test = {
            "rule_files": [str(rules)],
            "evaluation_interval": f"{self.step}s",
            "tests": [
                {
                    "interval": f"{self.step}s",
                    "input_series": [
                        {"series": selector(name, labels), "values": encode(points, self.step, self.t)}
                        for (name, labels), points in sorted(self.values.items())
                    ],
                    "promql_expr_test": [q for check in self.checks for q in queries(check)],
                }
            ],
        }
        path = tmp / "pages-test.yml"
        path.write_text(yaml.safe_dump(test, sort_keys=False, width=1000))
        proc = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"the shipped rules did not page as expected ({path}):\n{proc.stdout}{proc.stderr}"[-6000:])


def selector(name: str, labels: Iterable[tuple[str, str]]) -> str:
    """`name{k="v",...}` with values escaped as PromQL wants them."""
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return name + "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels) + "}"


def encode(points: Mapping[int, str], step: int, end: int) -> str:
    """A series' values in promtool's notation, one per step from 0 ('_' where it was not scraped)."""
    slots = [points.get(t, "_") for t in range(0, end + step, step)]
    out: list[str] = []
    i = 0
    while i < len(slots):
        j = i
        while j + 1 < len(slots) and slots[j + 1] == slots[i]:
            j += 1
        n = j - i + 1
        v = slots[i]
        if v == "stale":
            out += ["stale"] * n
        elif v == "_":
            out.append(f"_x{n}")
        else:
            out.append(v if n == 1 else f"{v}x{n - 1}")
        i = j + 1
    return " ".join(out)


def queries(check: Expected) -> list[dict[str, object]]:
    """promql_expr_tests asserting exactly `check.firing` at `check.t`."""
    at = f"{check.t}s"
    total = {
        "expr": 'count by (alertname) (ALERTS{alertstate="firing"})',
        "eval_time": at,
        "exp_samples": [
            {"labels": f'{{alertname="{name}"}}', "value": len(each)} for name, each in sorted(check.firing.items())
        ],
    }
    out: list[dict[str, object]] = [total]
    for name, each in sorted(check.firing.items()):
        keys = sorted({k for labels in each for k in labels})
        if not keys:
            continue
        by = ", ".join(["alertname", *keys])
        samples: dict[str, int] = {}
        for labels in each:
            sel = selector("", [("alertname", name), *sorted(labels.items())])
            samples[sel] = samples.get(sel, 0) + 1
        out.append(
            {
                "expr": f'count by ({by}) (ALERTS{{alertstate="firing", alertname="{name}"}})',
                "eval_time": at,
                "exp_samples": [{"labels": k, "value": v} for k, v in sorted(samples.items())],
            }
        )
    return out
