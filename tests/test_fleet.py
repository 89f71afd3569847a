"""Acceptance of issue 15: four exporters (separate processes), each a host with its own `rsync -a` copy of a golden
hub cache made by the real client, scraped by one real Prometheus with the shipped rules (sync window shortened).
Identical hosts agree; a host whose rsync was cut mid-file and a host missing one file are named by
ModelCacheFleetDrift; after a complete re-sync it resolves. Re-synced files count as `synced`, never `redownload`."""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

from e2etools import Sidecar, e2e_rules, start_prometheus
from fakehub import FakeHub, run_download
from helpers import free_port, require_tool, wait_for
from test_ledger import FAST

RSYNC = "/usr/bin/rsync"
FILES = {"config.json": b'{"a": 1}\n', "model.safetensors": os.urandom(3_000_000), "tok/vocab.txt": b"a\nb\n"}


def _age(top: Path) -> None:
    old = time.time() - 3600
    for dirpath, _dirs, files in os.walk(top):
        for f in files:
            os.utime(os.path.join(dirpath, f), (old, old), follow_symlinks=False)


def _rsync(src: Path, dst: Path) -> None:
    subprocess.run([RSYNC, "-a", f"{src}/", f"{dst}/"], check=True)


def _cut_rsync(src: Path, dst: Path) -> None:
    """`rsync -a --partial`, throttled, killed mid-file."""
    proc = subprocess.Popen([RSYNC, "-a", "--partial", "--bwlimit=300", f"{src}/", f"{dst}/"])
    time.sleep(2.0)
    proc.kill()
    proc.wait()


def _fleet_panel(prom, title: str) -> float:  # type: ignore[no-untyped-def]
    """A stat of the fleet dashboard as Grafana queries it for this job, every instance and root."""
    import json

    board = json.loads((Path(__file__).resolve().parents[1] / "dashboards" / "modelcache-fleet.json").read_text())
    expr = next(p["targets"][0]["expr"] for p in board["panels"] if p["title"] == title)
    for var, value in (("$job", "modelcache-exporter"), ("$instance", ".+"), ("$root", ".+")):
        expr = expr.replace(var, value)
    return float(prom.query(expr)[0]["value"][1])


def _drifting(prom) -> set[str]:  # type: ignore[no-untyped-def]
    res = prom.query('ALERTS{alertname="ModelCacheFleetDrift", alertstate="firing"}')
    return {r["metric"]["instance"] for r in res}


def test_fleet_drift_names_the_cut_and_the_incomplete_host(hub: FakeHub, tmp_path: Path) -> None:
    prometheus = require_tool("prometheus")
    hub.add_repo("org/tts", FILES)
    golden = tmp_path / "golden"
    run_download(hub, repo_id="org/tts", cache_dir=str(golden))
    _age(golden)
    hosts = {name: tmp_path / name / "hub" for name in ("h1", "h2", "cut", "lost")}  # one root name: `hub`
    for name, path in hosts.items():
        path.mkdir(parents=True)
        _cut_rsync(golden, path) if name == "cut" else _rsync(golden, path)
    blob = max((hosts["lost"] / "models--org--tts" / "blobs").iterdir(), key=lambda p: p.stat().st_size)
    blob.unlink()
    with ExitStack() as stack:
        ports = {}
        for name, path in hosts.items():
            ports[name] = free_port()
            args = ["--path.cache", str(path), "--path.state", str(tmp_path / f"state-{name}"), *FAST]
            stack.enter_context(Sidecar(args, ports[name]))
        rules = e2e_rules(tmp_path / "rules.yml", {"fleet_sync_window": "3s"})
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [
                {
                    "job_name": "modelcache-exporter",
                    "static_configs": [{"targets": [f"127.0.0.1:{p}" for p in ports.values()]}],
                }
            ],
        }
        prom = start_prometheus(prometheus, tmp_path, config)
        stack.callback(prom.stop)
        prom.wait_ready()
        odd = {f"127.0.0.1:{ports['cut']}", f"127.0.0.1:{ports['lost']}"}
        wait_for(lambda: _drifting(prom) == odd, 60, 0.5, "drift naming the cut and the incomplete host")
        assert _fleet_panel(prom, "Host copies that differ") == 2 and _fleet_panel(prom, "Hosts") == 4
        _rsync(golden, hosts["cut"])
        _rsync(golden, hosts["lost"])
        wait_for(lambda: not _drifting(prom) and prom.query("up == 1"), 60, 0.5, "drift resolved after the re-sync")
        assert _fleet_panel(prom, "Host copies that differ") == 0
        synced = prom.query('sum(modelcache_downloads_total{reason="synced"})')
        assert synced and float(synced[0]["value"][1]) >= 2
        redl = prom.query('sum(modelcache_downloads_total{reason=~"redownload|first"})')
        assert float(redl[0]["value"][1]) == 0
