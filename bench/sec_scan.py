"""Cold full scan: ours (size pass; size + link pass) vs `du -sb` and `huggingface_hub.scan_cache_dir`,
on the same tree, in one run; wall time and peak RSS of each process."""

from __future__ import annotations

import os
import sys

from common import Row, timed_process
from data import cache

HERE = os.path.dirname(os.path.abspath(__file__))
SCAN_CACHE_DIR = "import sys; from huggingface_hub import scan_cache_dir; scan_cache_dir(sys.argv[1])"


def _measure(cmd: list[str], times: int) -> tuple[list[float], float]:
    timed_process(cmd)  # warm-up: every tool sees the same warm page cache
    runs = [timed_process(cmd) for _ in range(times)]
    return [w for w, _ in runs], max(r for _, r in runs)


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    sizes = ["10k"] if quick else ["10k", "100k", "1M"]
    for size in sizes:
        root = cache(size)
        reps = 1 if quick else (3 if size == "1M" else 5)
        tools = [
            ("du -sb", ["du", "-sb", root], reps),
            ("ours: size pass, 2 workers", [sys.executable, f"{HERE}/scan_driver.py", root, "--workers", "2"], reps),
            ("ours: size pass, in-process", [sys.executable, f"{HERE}/scan_driver.py", root, "--workers", "0"], reps),
            ("ours: size + link pass", [sys.executable, f"{HERE}/scan_driver.py", root, "--links"], reps),
            ("scan_cache_dir", [sys.executable, "-c", SCAN_CACHE_DIR, root], 1 if size == "1M" else reps),
        ]
        for what, cmd, n in tools:
            walls, rss = _measure(cmd, n)
            target = ""
            if what.startswith("ours: size pass, 2"):
                target = "<= 0.5x du"
            rows.append(
                Row(
                    "cold scan",
                    what,
                    size,
                    walls,
                    baseline="du -sb",
                    target=target,
                    note=f"peak RSS {rss:.0f} MiB",
                    extra={"rss_mib": rss},
                )
            )
    return rows
