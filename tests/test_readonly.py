"""The exporter never writes into a cache root: every entry is identical before and after a busy run."""

from __future__ import annotations

from pathlib import Path

import cachefixture
from fakehub import FakeHub, run_download
from helpers import Process, tree_digest, wait_for


def test_a_full_run_leaves_every_cache_byte_identical(hub: FakeHub, tmp_path: Path) -> None:
    caches = tmp_path / "caches"
    cachefixture.build(caches / "hub")
    hub.add_repo("IndexTeam/IndexTTS-2", {"gpt.pth": b"\x01" * 5000, "config.yaml": b"a: 1\n"})
    run_download(hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(caches / "checkpoints"))
    (caches / "checkpoints" / "hf_cache" / "bigvgan").mkdir(parents=True)
    (caches / "checkpoints" / "hf_cache" / "bigvgan" / "config.json").write_text("{}")
    (caches / "checkpoints" / "hf_cache" / "campplus_cn_common.bin").write_bytes(b"\0" * 100)
    before = tree_digest(caches)
    args = [
        "--path.cache",
        str(caches / "hub"),
        "--path.cache",
        str(caches / "checkpoints"),
        "--path.cache",
        str(caches / "checkpoints" / "hf_cache"),
        "--path.state",
        str(tmp_path / "state"),
        "--collector.cache.reconcile-interval",
        "500ms",
        "--collector.probe.interval",
        "200ms",
        "--collector.filesystem.interval",
        "200ms",
        "--collector.diskstats.interval",
        "200ms",
        "--collector.textfile.output",
        str(tmp_path / "out.prom"),
        "--collector.textfile.interval",
        "200ms",
    ]
    with Process(args) as proc:
        for root in ("hub", "checkpoints", "hf_cache"):
            wait_for(lambda r=root: proc.value("modelcache_index_verified", root=r) == 1, 10)
        wait_for(lambda: (proc.value("modelcache_index_scans_total", root="hub", **{"pass": "reconcile"}) or 0) >= 2)
        wait_for(lambda: (proc.value("modelcache_probe_duration_seconds_count", root="hub", op="write") or 0) >= 2)
        for _ in range(20):
            proc.metrics()
    assert tree_digest(caches) == before
    assert (tmp_path / "state" / "probe").is_dir()  # the probe wrote where it may: the state directory
