"""Exact sizes on the running exporter, warm and cold, against `du -sb` on the same tree in the same run; and
scrape latency while the link pass or a reconciliation runs, against the idle exporter on the same cache.

- "start -> index_verified": from starting the exporter process (a fresh state directory: its first start,
  the ledger seeding too) until `/metrics` says `modelcache_index_verified 1`; polled every 50 ms.
- "size pass": the exporter's own `modelcache_index_scan_duration_seconds{pass="size"}` (interpreter start-up
  is not part of it; `du`'s process start-up is part of du's time, about 1 ms).
- "cold": after `sync; echo 3 > /proc/sys/vm/drop_caches` before each run of each tool (root only; a row says
  when it could not drop them); "warm": the same run repeated with nothing dropped.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import threading
import time

from common import Row, render, timed_process
from data import cache
from exporter_proc import Exporter, get

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


def _value(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(want)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


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
            if _value(text, "modelcache_index_verified", root=root) == 1.0:
                wall = time.monotonic() - t0
                size = _value(text, "modelcache_index_scan_duration_seconds", root=root, **{"pass": "size"})
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


class Scraper(threading.Thread):
    """Scrapes `/metrics` back to back; keeps (latency, what the body said) of each."""

    def __init__(self, ex: Exporter, root: str) -> None:
        super().__init__(daemon=True)
        self.ex, self.root = ex, root
        #: (start time, latency, verified, reconciliations so far, the last one's seconds)
        self.samples: list[tuple[float, float, float | None, float, float]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            t0 = time.perf_counter()
            try:
                text = get(self.ex.url + "/metrics", {"Accept": "text/plain"}).decode()
            except OSError:
                time.sleep(0.01)
                continue
            took = time.perf_counter() - t0
            verified = _value(text, "modelcache_index_verified", root=self.root)
            if _value(text, "modelcache_index_ready", root=self.root) != 1.0:
                verified = None  # still starting: neither the link pass nor idle
            reconciles = _value(text, "modelcache_index_scans_total", root=self.root, **{"pass": "reconcile"})
            seconds = _value(text, "modelcache_index_scan_duration_seconds", root=self.root, **{"pass": "reconcile"})
            self.samples.append((t0, took, verified, reconciles or 0.0, seconds or 0.0))
            time.sleep(0.005)

    def wait_verified(self, timeout: float = 600) -> None:
        """Until a scrape of this scraper showed the root exact (no second client scraping meanwhile: a
        concurrent scrape would share or queue behind this one's rendering, which the idle rows never do)."""
        t_end = time.monotonic() + timeout
        while not (self.samples and self.samples[-1][2] == 1.0):
            if self.ex.proc.poll() is not None:
                raise RuntimeError(f"the exporter exited with {self.ex.proc.returncode}")
            if time.monotonic() > t_end:
                raise TimeoutError("index_verified")
            time.sleep(0.05)


def while_reconciling(samples: list[tuple[float, float, float | None, float, float]]) -> tuple[list[float], int]:
    """The latencies of the scrapes that began while a reconciliation ran, and how many ended. A scrape that
    first shows a new count marks the end of one that took the seconds it shows: the scrapes begun in those
    seconds before it ran during it (that scrape itself, the first to encode the new state, did not)."""
    ends = [(b[0], b[4]) for a, b in itertools.pairwise(samples) if b[3] > a[3]]
    during = [s[1] for s in samples if any(end - secs <= s[0] < end for end, secs in ends)]
    return during, len(ends)


def _p99(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * 0.99) - 1)]


def quiet(ex: Exporter, limit: float = 60.0) -> None:
    """Wait until the exporter uses less than 2 % of a core over a second (the ledger's first seeding done), for
    at most `limit` seconds."""
    t_end = time.monotonic() + limit
    while time.monotonic() < t_end:
        cpu0 = ex.cpu_seconds()
        time.sleep(1.0)
        if ex.cpu_seconds() - cpu0 < 0.02:
            return


def scrape_rows(name: str, *extra: str) -> list[Row]:
    """Scrape latency during the link pass, during back-to-back reconciliations, and idle (warm page cache);
    `extra`: flags (`--no-collector.ledger`: without the ledger's first seeding running beside the pass)."""
    path, root = cache(name), f"cache-{name}"
    tag = " (no ledger)" if "--no-collector.ledger" in extra else ""
    ex = Exporter(path, "--collector.cache.reconcile-interval=1s", *extra)
    scraper = Scraper(ex, root)
    try:
        scraper.start()
        scraper.wait_verified()
        during_links = [s[1] for s in scraper.samples if s[2] == 0.0]
        quiet(ex)
        mark = len(scraper.samples)
        time.sleep(20)  # reconciliations, one after another (each a whole size pass)
        during_reconcile, reconciles = while_reconciling(scraper.samples[mark:])
    finally:
        scraper.halt.set()
        scraper.join()
        ex.stop()
    idle = _idle(path, root, max(300, len(during_links)), extra)
    idle_p99 = _p99(idle)
    base = f"idle{tag}"
    rows = [Row("scrape while busy", base, name, idle, note=f"p99 {idle_p99 * 1000:.2f} ms")]
    for what, samples, more in (
        (f"during the link pass{tag}", during_links, ""),
        (f"during reconciliations{tag}", during_reconcile, f", {reconciles} reconciliations"),
    ):
        p99 = _p99(samples) if samples else 0.0
        rows.append(
            Row(
                "scrape while busy",
                what,
                name,
                samples or [0.0],
                baseline=base,
                target="p99 <= 1.5x idle p99",
                note=f"p99 {p99 * 1000:.2f} ms = {p99 / idle_p99:.2f}x idle p99{more}",
            )
        )
    return rows


def _idle(path: str, root: str, n: int, extra: tuple[str, ...]) -> list[float]:
    """`n` scrapes of an idle exporter, by the same scraper as the busy rows (same pace, same parsing)."""
    ex = Exporter(path, *extra)
    scraper = Scraper(ex, root)
    try:
        scraper.start()
        scraper.wait_verified()
        quiet(ex)
        mark = len(scraper.samples)
        while len(scraper.samples) < mark + n:
            time.sleep(0.1)
        return [s[1] for s in scraper.samples[mark : mark + n]]
    finally:
        scraper.halt.set()
        scraper.join()
        ex.stop()


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    sizes = ["10k"] if quick else ["10k", "100k", "1M"]
    for name in sizes:
        rows += _shown(exact_rows(name, 1 if quick else 3, cold=False))
        if not quick:
            rows += _shown(exact_rows(name, 2, cold=True))
    for name in ["10k"] if quick else ["100k", "1M"]:
        rows += _shown(scrape_rows(name))
    return rows


def _shown(rows: list[Row]) -> list[Row]:
    """`rows`, also printed at once on stderr (a long run that is stopped keeps what it measured)."""
    print(render(rows), file=sys.stderr, flush=True)
    return rows
