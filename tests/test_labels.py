"""Hostile names on /metrics: repo names and label values with quotes, backslashes, newlines and non-ASCII are
escaped (both text formats parse back to the exact names, promtool accepts them), and label cardinality stays
capped under 100,000 distinct names. (The log metrics' repo cap under 100,000 names: tests/test_logs_hostile.py.)"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import requests
from helpers import Process, require_tool, wait_for
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families

from modelcache_exporter.collectors.ledger import LedgerCollector
from modelcache_exporter.ledger.classify import Arrival
from modelcache_exporter.ledger.forecast import Forecast
from modelcache_exporter.ledger.settings import LedgerSettings
from modelcache_exporter.ledger.stats import Counters

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
HUB_NAMES = ['na"me\nx', "back\\slash", "ünï-cødé✓", "tab\there", "sp ace{}=,"]
PLAIN_NAMES = ["weird\nname", 'quote"d', "back\\slash\\", "emoji-🤖", "crlf\r\nend"]
LOG_REPO = 'o"rg/m✓'


def _hub_repo(cache: Path, name: str, content: bytes) -> None:
    repo = cache / f"models--org--{name}"
    commit = "6" * 40
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "blobs" / ("f" * 40)).write_bytes(content)
    os.symlink(f"../../blobs/{'f' * 40}", repo / "snapshots" / commit / "w.bin")


def _labels(families: object, metric: str) -> dict[str, float]:
    return {
        s.labels["repo"]: s.value
        for fam in families  # type: ignore[attr-defined]
        for s in fam.samples
        if s.name == metric and "repo" in s.labels
    }


def test_hostile_names_are_escaped_on_metrics(tmp_path: Path) -> None:
    hub, plain, log = tmp_path / "hub", tmp_path / "hf_cache", tmp_path / "webui.log"
    hub.mkdir()
    plain.mkdir()
    for i, name in enumerate(HUB_NAMES):
        _hub_repo(hub, name, b"\x01" * (100 + i))
    for i, name in enumerate(PLAIN_NAMES):
        (plain / name).write_bytes(b"\x02" * (200 + i))
    log.write_text(f"Downloading 'f.bin' to '/h/models--{LOG_REPO.replace('/', '--')}/blobs/ab.incomplete'\n")
    conf = tmp_path / "c.yml"
    conf.write_text(
        f"roots:\n  - {{path: '{hub}', name: hub}}\n  - {{path: '{plain}', name: hf_cache, layout: plain}}\n"
    )
    args = ["--config.file", str(conf), "--path.state", str(tmp_path / "s"), "--path.webui-log", str(log), *QUIET]
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_verified", root="hub") == 1)
        wait_for(lambda: proc.value("modelcache_index_verified", root="hf_cache") == 1)
        wait_for(lambda: proc.value("modelcache_log_lines_total", log="webui") == 1)
        text = proc.metrics()
        om = requests.get(proc.url + "/metrics", headers={"Accept": "application/openmetrics-text"}, timeout=5).text
    for families in (list(text_string_to_metric_families(text)), list(om_families(om))):
        sizes = _labels(families, "modelcache_model_size_bytes")
        assert {f"org/{n}": 100.0 + i for i, n in enumerate(HUB_NAMES)}.items() <= sizes.items()
        assert {n: 200.0 + i for i, n in enumerate(PLAIN_NAMES)}.items() <= sizes.items()
        assert _labels(families, "modelcache_log_downloads_started_total") == {LOG_REPO: 1.0}
    assert 'repo="org/na\\"me\\nx"' in text and 'repo="back\\\\slash\\\\"' in text  # escaped, not raw
    promtool = require_tool("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_100000_models_stay_capped_with_an_other_aggregate(tmp_path: Path) -> None:
    plain = tmp_path / "hf_cache"
    plain.mkdir()
    t0 = time.monotonic()
    for i in range(100_000):  # one byte each, and 300 larger ones that must be the ones shown
        with open(plain / f"m{i:06d}", "wb") as fh:
            fh.write(b"\x01" * (1000 + i if i % 333 == 0 else 1))
    assert time.monotonic() - t0 < 60
    conf = tmp_path / "c.yml"
    conf.write_text(f"roots: [{{path: '{plain}', name: hf_cache, layout: plain}}]\n")
    args = ["--config.file", str(conf), "--path.state", str(tmp_path / "s"), "--no-collector.ledger", *QUIET]
    with Process([*args, "--collector.cache.max-models", "200"]) as proc:
        wait_for(lambda: proc.value("modelcache_root_models", root="hf_cache") == 100_000, 60)
        text = proc.metrics()
    families = list(text_string_to_metric_families(text))
    sizes = _labels(families, "modelcache_model_size_bytes")
    assert len(sizes) == 201 and "(other)" in sizes
    big = sorted(((1000 + i, f"m{i:06d}") for i in range(0, 100_000, 333)), reverse=True)
    assert {name: float(size) for size, name in big[:200]}.items() <= sizes.items()
    total = sum(1000 + i if i % 333 == 0 else 1 for i in range(100_000))
    assert sizes["(other)"] == total - sum(size for size, _ in big[:200])
    for metric in ("modelcache_model_files", "modelcache_model_revisions", "modelcache_model_incomplete_files"):
        assert len(_labels(families, metric)) == 201
    assert len(text) < 200 * 1024


def test_redownload_repo_labels_stay_capped_under_100000_repos() -> None:
    counters = Counters()
    settings = LedgerSettings()
    for i in range(100_000):
        arrival = Arrival(f"blob{i}", "redownload", 10, None, i)
        counters.apply("hub", f"org/model-{i}", [arrival], [], False, float(i), settings)
    counters.publish()
    collector = LedgerCollector(SimpleNamespace(counters=counters, required=(), requirements=(), forecast=Forecast()))  # type: ignore[arg-type]
    samples = [
        s for fam in collector.collect() for s in fam.samples if s.name == "modelcache_unexpected_redownloads_total"
    ]
    repos = {s.labels["repo"]: s.value for s in samples}
    assert len(repos) == 51 and repos["(other)"] == 100_000 - 50
    assert sum(repos.values()) == 100_000
