"""Scrape latency while the exporter works (the link pass of a first start, reconciliations one after another)
against the idle exporter on the same cache, warm page cache, two ways of scraping:

- "paced": as Prometheus scrapes, `PACED_CLIENTS` kept-alive connections each scraping every `PACED_PERIOD`
  seconds, their phases spread over the period (the exporter predicts each one's next scrape and keeps its
  background work quiet around it: `web.pacing`). The first start is also scraped through the ledger's first
  recording of the root, which follows its link pass (no target in the issue: it is shown as measured).
- "back to back": one client, a new connection per scrape, 5 ms apart (nothing to predict: background work
  is quiet only while each scrape is served). A stress row, with the machine's floor beside it: the idle
  exporter while two idle-priority spinners that are not the exporter's run.

Interleaved, because these shared machines drift by 2-4x within minutes (an idle p99 of 5 ms, then 18 ms):
two exporters are kept, an idle one and one reconciling every second, each frozen (SIGSTOP to its process
group: no CPU at all) while the other is scraped, in `BLOCKS` alternating blocks, with fresh starts' link
passes after each pair (`LINK_SCRAPES`, `MAX_STARTS`). Idle and busy scrapes thus come from the same minutes.
"""

from __future__ import annotations

import http.client
import itertools
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from common import Row, metric_value, render
from data import cache
from exporter_proc import Exporter, get

PACED_CLIENTS = 4
PACED_PERIOD = 0.5
#: Idle, reconciling and link-pass blocks, interleaved; the seconds each block of the first two is scraped.
BLOCKS = 8
PACED_BLOCK, BACK_TO_BACK_BLOCK = 8.0, 5.0
#: Fresh starts after each pair of blocks, until the block's link-pass scrapes reach this many (a 100k link
#: pass lasts about a second: about 7 paced scrapes), at most `MAX_STARTS`.
LINK_SCRAPES, MAX_STARTS = 30, 4
RECONCILING = "--collector.cache.reconcile-interval=1s"
#: One sample: (start time, latency, verified (None while starting), reconciliations so far, the last one's s,
#: whether the ledger is still recording the root for the first time: its artifacts not shown yet)
Sample = tuple[float, float, float | None, float, float, bool]
SPIN = "import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\nwhile True: pass\n"


def _sample(t0: float, took: float, text: str, root: str) -> Sample:
    verified = metric_value(text, "modelcache_index_verified", root=root)
    if metric_value(text, "modelcache_index_ready", root=root) != 1.0:
        verified = None  # still starting: neither the link pass nor idle
    reconciles = metric_value(text, "modelcache_index_scans_total", root=root, **{"pass": "reconcile"})
    seconds = metric_value(text, "modelcache_index_scan_duration_seconds", root=root, **{"pass": "reconcile"})
    seeding = not metric_value(text, "modelcache_ledger_artifacts", root=root)  # absent or 0 until recorded
    return (t0, took, verified, reconciles or 0.0, seconds or 0.0, seeding)


class Scrapers:
    """Scrape `/metrics` until stopped: `clients` kept-alive connections every `period` s, or (period 0) one
    client back to back with a new connection each time; `samples` in time order once stopped."""

    def __init__(self, ex: Exporter, root: str, clients: int = 1, period: float = 0.0) -> None:
        self.ex, self.root, self.period = ex, root, period
        self.samples: list[Sample] = []
        self.halt = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i / clients,), daemon=True) for i in range(clients)]
        for t in self._threads:
            t.start()

    def _scrape(self, conn: http.client.HTTPConnection | None) -> str:
        if conn is None:
            return get(self.ex.url + "/metrics", {"Accept": "text/plain"}).decode()
        conn.request("GET", "/metrics", headers={"Accept": "text/plain"})
        return conn.getresponse().read().decode()

    def _run(self, phase: float) -> None:
        conn = None
        due = time.perf_counter() + phase * self.period
        while not self.halt.is_set():
            if self.period:
                time.sleep(max(0.0, due - time.perf_counter()))
                due += self.period
                conn = conn or http.client.HTTPConnection("127.0.0.1", self.ex.port, timeout=30)
            t0 = time.perf_counter()
            try:
                text = self._scrape(conn)
            except OSError:
                conn = None
                time.sleep(0.01)
                continue
            self.samples.append(_sample(t0, time.perf_counter() - t0, text, self.root))
            if not self.period:
                time.sleep(0.005)

    def wait_verified(self, timeout: float = 600) -> None:
        """Until a scrape showed the root exact."""
        t_end = time.monotonic() + timeout
        while not any(s[2] == 1.0 for s in self.samples[-PACED_CLIENTS:]):
            if self.ex.proc.poll() is not None:
                raise RuntimeError(f"the exporter exited with {self.ex.proc.returncode}")
            if time.monotonic() > t_end:
                raise TimeoutError("index_verified")
            time.sleep(0.05)

    def wait_seeded(self, timeout: float = 600) -> None:
        """Until a scrape showed the ledger's count of the root (its first recording of the root is done)."""
        t_end = time.monotonic() + timeout
        while not any(s[2] == 1.0 and not s[5] for s in self.samples[-PACED_CLIENTS:]):
            if time.monotonic() > t_end:
                raise TimeoutError("ledger_artifacts")
            time.sleep(0.05)

    def stop(self) -> list[Sample]:
        self.halt.set()
        for t in self._threads:
            t.join()
        self.samples.sort()
        return self.samples


def while_reconciling(samples: list[Sample]) -> tuple[list[float], int]:
    """The latencies of the scrapes that began while a reconciliation ran, and how many ended. A scrape that
    first shows a new count marks the end of one that took the seconds it shows: the scrapes begun in those
    seconds before it ran during it (that scrape itself, the first to encode the new state, did not)."""
    ends = [(b[0], b[4]) for a, b in itertools.pairwise(samples) if b[3] > a[3]]
    during = [s[1] for s in samples if any(end - secs <= s[0] < end for end, secs in ends)]
    return during, len(ends)


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * 0.99) - 1)]


def settle(ex: Exporter, limit: float = 90.0) -> None:
    """Wait until the exporter uses less than 2 % of a core over a second (the ledger's first seeding done), for
    at most `limit` seconds."""
    t_end = time.monotonic() + limit
    while time.monotonic() < t_end:
        cpu0 = ex.cpu_seconds()
        time.sleep(1.0)
        if ex.cpu_seconds() - cpu0 < 0.02:
            return


def _ready(path: str, root: str, how: tuple[int, float], *flags: str) -> tuple[Exporter, list[Sample]]:
    """A fresh exporter scraped (`how`) until its root is exact and the ledger's first recording of it is
    done, then left unscraped until it settles, then frozen; and the samples of that first start."""
    ex = Exporter(path, *flags)
    try:
        scr = Scrapers(ex, root, *how)
        try:
            scr.wait_verified()
            scr.wait_seeded()  # on 1M a minute of the ledger's first recording: not idle
        finally:
            samples = scr.stop()
        settle(ex)  # unscraped: the scrapes' own CPU would hide whether the exporter is done
        ex.freeze()
    except BaseException:
        ex.stop()
        raise
    return ex, samples


def _block(ex: Exporter, root: str, how: tuple[int, float], seconds: float) -> list[Sample]:
    """Thaw `ex`, scrape it for `seconds` (new connections: a paced client is predicted from its third scrape
    on, as when Prometheus starts scraping), freeze it again."""
    ex.thaw()
    scr = Scrapers(ex, root, *how)
    try:
        time.sleep(seconds)
    finally:
        samples = scr.stop()
        ex.freeze()
    return samples


def _link_passes(path: str, root: str, how: tuple[int, float]) -> list[float]:
    """The latencies of the scrapes during the link pass of fresh starts (`LINK_SCRAPES`, `MAX_STARTS`)."""
    links: list[float] = []
    for _ in range(MAX_STARTS):
        ex = Exporter(path)
        scr = Scrapers(ex, root, *how)
        try:
            scr.wait_verified()
        finally:
            samples = scr.stop()
            ex.stop()
        links += [s[1] for s in samples if s[2] == 0.0]
        if len(links) >= LINK_SCRAPES:
            break
    return links


@dataclass
class Observed:
    """Latencies of one cache and one way of scraping, by what the exporter did meanwhile."""

    idle: list[float] = field(default_factory=list)
    links: list[float] = field(default_factory=list)
    recs: list[Sample] = field(default_factory=list)
    seeding: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)


def observe(name: str, how: tuple[int, float], blocks: int, seconds: float, floor: bool) -> Observed:
    """Interleaved blocks of the idle exporter, the reconciling one and fresh starts' link passes; with
    `floor`, one more idle block with two idle-priority spinners beside."""
    path, root = cache(name), f"cache-{name}"
    out = Observed()
    idle_ex, first = _ready(path, root, how)
    try:
        out.links = [s[1] for s in first if s[2] == 0.0]
        out.seeding = [s[1] for s in first if s[2] == 1.0 and s[5]]
        busy_ex, _ = _ready(path, root, how, RECONCILING)
        try:
            for _ in range(blocks):
                out.idle += [s[1] for s in _block(idle_ex, root, how, seconds)]
                out.recs += _block(busy_ex, root, how, seconds)
                out.links += _link_passes(path, root, how)
        finally:
            busy_ex.stop()
        if floor:
            spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(2)]
            try:
                out.floor = [s[1] for s in _block(idle_ex, root, how, 2 * seconds)]
            finally:
                for sp in spinners:
                    sp.kill()
                    sp.wait()
    finally:
        idle_ex.stop()
    out.recs.sort()
    return out


def _rows(name: str, how: str, idle: list[float], busy: list[tuple[str, list[float], str]], n: int) -> list[Row]:
    """The idle row, and one per kind of `busy` work: (what, latencies, note's end)."""
    base = f"{how}: idle"
    rows = [Row("scrape while busy", base, name, idle, note=f"p99 {p99(idle) * 1000:.2f} ms")]
    for what, samples, more in busy:
        rows.append(
            Row(
                "scrape while busy",
                f"{how}: during the {what}",
                name,
                samples or [0.0],
                baseline=base,
                target="" if "ledger" in what else "p99 <= 1.5x idle p99",
                note=(f"p99 {p99(samples) * 1000:.2f} ms = {p99(samples) / p99(idle):.2f}x idle p99{more}")
                if samples
                else "no scrape fell in it",
            )
        )
    return rows


def paced_rows(name: str, blocks: int) -> list[Row]:
    got = observe(name, (PACED_CLIENTS, PACED_PERIOD), blocks, PACED_BLOCK, floor=False)
    recs, n = while_reconciling(got.recs)
    label = f"paced ({PACED_CLIENTS} kept-alive clients, each every {PACED_PERIOD:g} s)"
    busy = [
        ("link pass", got.links, ""),
        ("reconciliations", recs, f", {n} reconciliations"),
        ("ledger's first recording (first start)", got.seeding, ""),
    ]
    return _rows(name, label, got.idle, busy, n)


def back_to_back_rows(name: str, blocks: int) -> list[Row]:
    got = observe(name, (1, 0.0), blocks, BACK_TO_BACK_BLOCK, floor=True)
    recs, n = while_reconciling(got.recs)
    busy = [("link pass", got.links, ""), ("reconciliations", recs, f", {n} reconciliations")]
    rows = _rows(name, "back to back", got.idle, busy, n)
    idle, floor = got.idle, got.floor
    note = f"p99 {p99(floor) * 1000:.2f} ms = {p99(floor) / p99(idle):.2f}x idle p99 (the machine, not the exporter)"
    rows.append(
        Row(
            "scrape while busy",
            "back to back: idle, 2 SCHED_IDLE spinners beside",
            name,
            floor,
            baseline=rows[0].what,
            note=note,
        )
    )
    return rows


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    for name in ["10k"] if quick else ["100k", "1M"]:
        rows += _shown(paced_rows(name, 2 if quick else BLOCKS))
        rows += _shown(back_to_back_rows(name, 2 if quick else BLOCKS))
    return rows


def _shown(rows: list[Row]) -> list[Row]:
    """`rows`, also printed at once on stderr (a long run that is stopped keeps what it measured)."""
    print(render(rows), file=sys.stderr, flush=True)
    return rows
