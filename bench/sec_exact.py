"""Exact sizes on the running exporter, warm and cold, against `du -sb` on the same tree in the same run
(scrapes while the exporter works: `sec_busy`).

- "start -> index_verified": from starting the exporter process (a fresh state directory: its first start,
  the ledger seeding too) until `/metrics` says `modelcache_index_verified 1`; polled every 50 ms.
- "size pass": the exporter's own `modelcache_index_scan_duration_seconds{pass="size"}` (interpreter start-up
  is not part of it; `du`'s process start-up is part of du's time, about 1 ms).
- "cold": after `sync; echo 3 > /proc/sys/vm/drop_caches` before each run of each tool (root only; a row says
  when it could not drop them); "warm": the same run repeated with nothing dropped.
"""

from __future__ import annotations

import subprocess
import sys
import time

from common import Row, metric_value, render, timed_process
from data import cache
from exporter_proc import Exporter

DROP = "/proc/sys/vm/drop_caches"


def drop_caches() -> bool:
    """Empty the page cache, dentries and inodes; False when this user may not."""
    subprocess.run(["sync"], check=False)
    try:
        with open(DROP, "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def start_to_exact(path: str, root: str) -> tuple[float, float, float]:
    """(seconds from start to exact sizes, the size pass's seconds, RSS MiB then) of a fresh exporter."""
    t0 = time.monotonic()
    ex = Exporter(path)
    try:
        while True:
            try:
                text = ex.metrics()
            except OSError:
                text = ""
            if metric_value(text, "modelcache_index_verified", root=root) == 1.0:
                wall = time.monotonic() - t0
                size = metric_value(text, "modelcache_index_scan_duration_seconds", root=root, **{"pass": "size"})
                return wall, size or 0.0, ex.status("VmRSS")
            if ex.proc.poll() is not None:
                raise RuntimeError(f"the exporter exited with {ex.proc.returncode}")
            if time.monotonic() - t0 > 900:
                raise TimeoutError(path)
            time.sleep(0.05)
    finally:
        ex.stop()


def _du(path: str, cold: bool) -> float:
    if cold:
        drop_caches()
    return timed_process(["du", "-sb", path])[0]


def exact_rows(name: str, reps: int, cold: bool) -> list[Row]:
    """du -sb, the exporter's size pass and its start -> exact sizes on cache `name`, each `reps` times."""
    path, root = cache(name), f"cache-{name}"
    state = "cold" if cold else "warm"
    if cold and not drop_caches():
        return [Row("exact sizes", f"{state}: not measured", name, [0.0], note="cannot drop caches (not root)")]
    if not cold:
        _du(path, False)  # every tool sees the same warm page cache
    du, walls, sizes, rss = [], [], [], []
    for _ in range(reps):  # interleaved: a drift of the machine touches both alike
        du.append(_du(path, cold))
        if cold:
            drop_caches()
        wall, size, mib = start_to_exact(path, root)
        walls.append(wall)
        sizes.append(size)
        rss.append(mib)
    base = f"{state}: du -sb"
    return [
        Row("exact sizes", base, name, du),
        Row("exact sizes", f"{state}: exporter size pass", name, sizes, baseline=base, target="<= 0.5x du"),
        Row(
            "exact sizes",
            f"{state}: exporter start -> index_verified",
            name,
            walls,
            baseline=base,
            target="<= 1.0x du" if name == "1M" else "",
            note=f"RSS then {max(rss):.0f} MiB",
        ),
    ]


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    sizes = ["10k"] if quick else ["10k", "100k", "1M"]
    for name in sizes:
        rows += _shown(exact_rows(name, 1 if quick else 3, cold=False))
        if not quick:
            rows += _shown(exact_rows(name, 2, cold=True))
    return rows


def _shown(rows: list[Row]) -> list[Row]:
    """`rows`, also printed at once on stderr (a long run that is stopped keeps what it measured)."""
    print(render(rows), file=sys.stderr, flush=True)
    return rows
