"""The active IO probe and its histogram."""

from __future__ import annotations

import os
from pathlib import Path

from modelcache_exporter.fshealth.probe import BUCKETS, Histogram, run_probe


def test_probe_times_each_step_and_leaves_nothing_behind(tmp_path: Path) -> None:
    timings = run_probe(str(tmp_path))
    assert set(timings) == {"write", "fsync", "read", "unlink"}
    assert all(t >= 0 for t in timings.values())
    assert os.listdir(tmp_path) == []


def test_histogram_is_cumulative() -> None:
    h = Histogram()
    h.observe({"write": 0.0002, "read": 0.003})
    h.observe({"write": 20.0})
    buckets, total = h.snapshot()["write"]
    assert len(buckets) == len(BUCKETS) + 1 and buckets[-1] == ("+Inf", 2)
    assert dict(buckets)["0.00025"] == 1 and dict(buckets)["10.0"] == 1
    assert total == 20.0002
    assert h.snapshot()["fsync"][0][-1] == ("+Inf", 0)


def test_sparse_files_have_fewer_allocated_than_apparent_bytes(tmp_path: Path) -> None:
    from modelcache_exporter.scan import plain

    with open(tmp_path / "sparse.bin", "wb") as fh:
        fh.truncate(10_000_000)
    (tmp_path / "dense.bin").write_bytes(b"\1" * 10_000)
    models = {m.key: m for m in plain.scan_plain(str(tmp_path)).models}
    assert models["sparse.bin"].size_bytes == 10_000_000 and models["sparse.bin"].allocated_bytes < 10_000
    assert models["dense.bin"].allocated_bytes >= 10_000
