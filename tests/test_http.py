"""The exporter as people run it: the README command, HTTP endpoints, textfile output, signals."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from fakehub import FakeHub, run_download
from helpers import REPO_ROOT, Process, require_tool, value, wait_for

QUIET = ["--no-collector.diskstats", "--no-collector.probe"]


def test_readme_command_serves_the_local_hf_cache(hub: FakeHub, tmp_path: Path) -> None:
    """No flags at all: the hub cache is found where huggingface_hub would put it."""
    home = tmp_path / "home"
    hub.add_repo("facebook/w2v-bert-2.0", {"config.json": b"{}\n", "model.safetensors": b"\x01" * 6000})
    run_download(hub, repo_id="facebook/w2v-bert-2.0", cache_dir=str(home / ".cache" / "huggingface" / "hub"))
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    with Process([], env=env) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hub") == 1, 10)
        text = proc.metrics()
    hub_path = home / ".cache" / "huggingface" / "hub"
    info = {"root": "hub", "path": str(hub_path), "layout": "hf-hub", "origin": "HF_HUB_CACHE"}
    assert value(text, "modelcache_root_info", **info, layout_source="configured") == 1  # discovered: known layout
    assert (
        value(text, "modelcache_model_size_bytes", root="hub", repo="facebook/w2v-bert-2.0", repo_type="model") == 6003
    )


def test_console_script_is_installed() -> None:
    script = shutil.which("modelcache-exporter")
    if script is None:
        pytest.skip("package not installed (pip install -e .)")
    out = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("modelcache-exporter ")


def test_endpoints(tmp_path: Path) -> None:
    (tmp_path / "hub").mkdir()
    with Process(["--path.cache", str(tmp_path / "hub"), "--path.state", str(tmp_path / "s"), *QUIET]) as proc:
        page = requests.get(proc.url + "/", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        assert "root hub</h2>" in page.text and "href='/metrics'" in page.text
        assert requests.get(proc.url + "/healthz", timeout=5).text == "OK\n"
        assert requests.get(proc.url + "/nope", timeout=5).status_code == 404
        om = requests.get(proc.url + "/metrics", headers={"Accept": "application/openmetrics-text"}, timeout=5)
        assert om.headers["Content-Type"].startswith("application/openmetrics-text")
        assert om.text.rstrip().endswith("# EOF")
        raw = requests.get(proc.url + "/metrics", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=5)
        assert raw.headers.get("Content-Encoding") == "gzip"
        assert b"modelcache_root_present" in gzip.decompress(raw.raw.read())
        code = proc.stop()
    assert code == 0 and "shutting down" in proc.stderr


def test_custom_telemetry_path(tmp_path: Path) -> None:
    with Process(["--path.cache", str(tmp_path), "--web.telemetry-path", "/m", *QUIET]) as proc:
        assert requests.get(proc.url + "/metrics", timeout=5).status_code == 404
        assert "modelcache_root_present" in requests.get(proc.url + "/m", timeout=5).text


def test_textfile_output_for_node_exporter(tmp_path: Path) -> None:
    out = tmp_path / "textfile" / "modelcache.prom"
    out.parent.mkdir()
    args = [
        "--path.cache",
        str(tmp_path / "hub"),
        "--collector.textfile.output",
        str(out),
        "--collector.textfile.interval",
        "200ms",
        *QUIET,
    ]
    with Process(args):
        wait_for(lambda: out.exists() and "modelcache_root_present" in out.read_text(), 10)
    assert os.listdir(out.parent) == ["modelcache.prom"]  # written atomically: no temp file left
    promtool = require_tool("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=out.read_bytes(), capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr


def _stable(text: str) -> list[str]:
    drop = ("_duration_seconds", "process_", "exporter_scrape_duration")
    return [line for line in text.splitlines() if not any(d in line for d in drop)]


def test_cached_encoding_equals_a_fresh_collection_and_follows_changes(tmp_path: Path) -> None:
    import cachefixture
    from helpers import InProcess
    from prometheus_client import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as om_latest

    cache = cachefixture.build(tmp_path / "hub")
    args = [
        "--path.cache",
        str(cache),
        "--path.state",
        str(tmp_path / "s"),
        "--collector.cache.scan-workers",
        "0",
        *QUIET,
    ]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        ex.wait("modelcache_filesystem_size_bytes", lambda v: v is not None, root="hub")
        ex.wait("modelcache_ledger_artifacts", lambda v: v is not None, root="hub")
        for _ in range(2):  # the second render reuses the cached bytes
            assert _stable(ex.exporter.scrape.render(om=False).decode()) == _stable(
                generate_latest(ex.registry).decode()
            )
            assert _stable(ex.exporter.scrape.render(om=True).decode()) == _stable(om_latest(ex.registry).decode())
        shutil.rmtree(cache / "datasets--org--data")
        ex.wait("modelcache_root_models", lambda v: v == 4, root="hub")
        body = ex.exporter.scrape.render(om=False).decode()
        # the model's series are gone (the ledger keeps its re-download counter at 0: a tracked repo)
        gone = [line for line in body.splitlines() if 'repo="org/data"' in line and "redownload" not in line]
        assert not gone and 'modelcache_root_models{root="hub"} 4.0' in body


def test_gzip_body_is_a_valid_multi_member_stream(tmp_path: Path) -> None:
    """Cached sources keep their compressed member; the stream still decodes to the plain body."""
    import cachefixture
    from helpers import InProcess

    cache = cachefixture.build(tmp_path / "hub")
    args = [
        "--path.cache",
        str(cache),
        "--path.state",
        str(tmp_path / "s"),
        "--collector.cache.scan-workers",
        "0",
        *QUIET,
    ]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        ex.wait("modelcache_filesystem_size_bytes", lambda v: v is not None, root="hub")
        ex.wait("modelcache_ledger_artifacts", lambda v: v is not None, root="hub")
        for om in (False, True):
            for _ in range(2):
                plain = _stable(ex.exporter.scrape.render(om=om).decode())
                packed = ex.exporter.scrape.render(om=om, gz=True)
                assert packed[:2] == b"\x1f\x8b" and packed.count(b"\x1f\x8b\x08") >= 2
                assert _stable(gzip.decompress(packed).decode()) == plain
