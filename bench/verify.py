"""Offline verification: throughput against `sha256sum` on the same files in one run, the IO budget as
measured, and scrape latency while the exporter verifies against the idle exporter.

    python bench/verify.py [--gib 1] [--budget 100000000]

Data: a hub cache of LFS blobs of random bytes named by their sha256 (generated once under
`$MODELCACHE_BENCH_DATA`, else <tmp>/modelcache-bench). The page cache is warm for the throughput rows (each
tool reads the files once before it is timed); `--cold` drops it before each run instead (root only).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import Row, render, timed_process
from data import data_dir
from exporter_proc import Exporter, get
from sec_exact import drop_caches

BLOB = 128 << 20
KEY = "models--bench--verify"
VERIFY = (
    "import sys; from modelcache_exporter.integrity.run import verify_model; "
    "r = verify_model(sys.argv[1], 'hf-hub', sys.argv[2], '', float(sys.argv[3])); "
    "assert r.files and not r.corrupt, r; print(r.hashed_bytes)"
)


def make_cache(gib: float) -> tuple[str, list[str]]:
    """The cache and its blob paths (made the first time)."""
    root = os.path.join(data_dir(), f"verify-{gib:g}g")
    blobs = os.path.join(root, KEY, "blobs")
    if not os.path.exists(root + ".done"):
        os.makedirs(blobs, exist_ok=True)
        commit = "0" * 40
        snap = os.path.join(root, KEY, "snapshots", commit)
        os.makedirs(snap, exist_ok=True)
        os.makedirs(os.path.join(root, KEY, "refs"), exist_ok=True)
        with open(os.path.join(root, KEY, "refs", "main"), "w") as fh:
            fh.write(commit)
        for i in range(max(1, int(gib * (1 << 30) // BLOB))):
            data = os.urandom(BLOB)
            name = hashlib.sha256(data).hexdigest()
            with open(os.path.join(blobs, name), "wb") as fh:
                fh.write(data)
            os.symlink(f"../../blobs/{name}", os.path.join(snap, f"shard-{i:03d}.safetensors"))
        open(root + ".done", "w").close()
    return root, sorted(os.path.join(blobs, n) for n in os.listdir(blobs))


def throughput(root: str, files: list[str], cold: bool, reps: int) -> list[Row]:
    """sha256sum and our verification (no budget), each a process, interleaved `reps` times."""
    total = sum(os.path.getsize(f) for f in files)
    ours_cmd = [sys.executable, "-c", VERIFY, root, KEY, "0"]
    sums, ours = [], []
    for _ in range(reps):
        for cmd, out in ((["sha256sum", *files], sums), (ours_cmd, ours)):
            if cold:
                drop_caches()
            else:
                timed_process(cmd)  # warm: the files are in the page cache for both
            out.append(total / timed_process(cmd, env={**os.environ, "PYTHONPATH": REPO})[0])
    state = "cold" if cold else "warm"
    size = f"{total / (1 << 30):.1f} GiB"
    return [
        Row("verify", f"{state}: sha256sum", size, sums, unit="B/s"),
        Row(
            "verify",
            f"{state}: ours, no budget",
            size,
            ours,
            unit="B/s",
            baseline=f"{state}: sha256sum",
            target=">= 0.9x",
        ),
    ]


def budget_row(root: str, rate: float) -> Row:
    """Bytes per second over a whole pass with `--collector.verify.max-bytes-per-second=rate`."""
    t0 = time.perf_counter()
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", VERIFY, root, KEY, str(rate)],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": REPO},
    )  # fmt: skip
    wall = time.perf_counter() - t0
    measured = int(out.stdout.split()[-1]) / wall
    return Row(
        "verify",
        f"budget {rate / 1e6:g} MB/s: bytes/s over the pass",
        "",
        [measured],
        unit="B/s",
        target="within 10% of the budget",
        note=f"{measured / rate:.3f}x the budget (process start-up included)",
    )


def scrape_rows(root: str, rate: float, n: int = 300) -> list[Row]:
    """Scrape latency while the exporter verifies (at `rate`) and once it is idle, on the same cache."""
    ex = Exporter(root, f"--collector.verify.max-bytes-per-second={rate:.0f}")
    name = os.path.basename(root)
    busy, idle = [], []
    try:
        ex.wait_for(f'modelcache_index_verified{{root="{name}"}} 1.0')
        while True:
            t0 = time.perf_counter()
            text = get(ex.url + "/metrics", {"Accept": "text/plain"}).decode()
            took = time.perf_counter() - t0
            done = f'modelcache_verify_progress_ratio{{root="{name}"}} 1.0' in text
            if done and len(busy) >= 10:
                break
            if not done and "modelcache_verify_progress_ratio" in text:
                busy.append(took)
            time.sleep(0.01)
        time.sleep(2)
        for _ in range(max(n, len(busy))):
            t0 = time.perf_counter()
            get(ex.url + "/metrics", {"Accept": "text/plain"})
            idle.append(time.perf_counter() - t0)
            time.sleep(0.01)
    finally:
        ex.stop()
    p99 = {k: sorted(v)[max(0, int(len(v) * 0.99) - 1)] for k, v in (("busy", busy), ("idle", idle))}
    return [
        Row("verify", "scrape, idle", "", idle, note=f"p99 {p99['idle'] * 1000:.2f} ms"),
        Row(
            "verify",
            "scrape, while verifying",
            "",
            busy,
            baseline="scrape, idle",
            target="p99 <= 1.2x idle p99",
            note=f"p99 {p99['busy'] * 1000:.2f} ms = {p99['busy'] / p99['idle']:.2f}x idle p99",
        ),
    ]


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gib", type=float, default=1.0, help="size of the cache to verify")
    p.add_argument("--budget", type=float, default=100e6, help="budget of the budget row, bytes/s")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--cold", action="store_true", help="drop the page cache before each run (root only)")
    a = p.parse_args()
    root, files = make_cache(a.gib)
    rows = throughput(root, files, a.cold, a.reps)
    rows.append(budget_row(root, a.budget))
    rows += scrape_rows(root, a.budget)
    print(render(rows))
    print(f"\n{os.cpu_count()} CPUs; median sha256sum {statistics.median(rows[0].samples) / 1e6:.0f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
