"""The benchmark command still runs (a smoke run at small sizes; benchmarks assert nothing about speed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO_ROOT


def test_quick_benchmark_prints_its_table(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    env = {**os.environ, "MODELCACHE_BENCH_DATA": str(tmp_path / "data"), "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--only", "scan,scrape", "--output", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| cold scan") or line.startswith("| scrape")]
    whats = {line.split("|")[2].strip() for line in rows}
    assert {"du -sb", "ours: size pass, 2 workers", "scan_cache_dir", "ours, text, 1k files"} <= whats
    assert out.read_text().startswith("# Benchmark results")
