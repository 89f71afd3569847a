"""Soak: the exporter as a real process for a long run on a cache that churns and a web UI log written at
5,000 lines/s with rename rotations. Prints one table at the end:

- RSS (VmRSS) and open file descriptors of the exporter, sampled every few seconds: first sample after
  the warm-up, last, max, and the least-squares slope after the warm-up and over the second half of the run (the
  allocator's high-water mark takes a while to settle; a leak keeps the second half rising);
- the index against a fresh scan of the final tree: every model's size and file count on /metrics compared
  with `huggingface_hub.scan_cache_dir` (hub root) and the exporter's own exact scan (plain root);
- log lines written against `modelcache_log_lines_total`, rotations done against counted.

    python bench/soak.py                 # 30 minutes
    python bench/soak.py --minutes 2     # a short run

Only 127.0.0.1 is contacted. Everything lives in a temporary folder removed at the end (--keep to keep it).
Not part of CI (tests/ has the short, exact versions of each of these checks).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SAMPLE = re.compile(r"^(modelcache_[a-z_]+)(?:\{([^}]*)\})? (\S+)$", re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


# -- the churning cache ----------------------------------------------------------------------------------
@dataclass
class Churn:
    """Creates, completes and deletes downloads in a hub root and a plain root, like web UIs do."""

    hub: Path
    plain: Path
    rng: random.Random
    max_repos: int = 150
    actions: dict[str, int] = field(default_factory=dict)
    serial: int = 0

    def _count(self, what: str) -> None:
        self.actions[what] = self.actions.get(what, 0) + 1

    def _blob(self, repo: Path, snap: Path, name: str) -> None:
        """A download: `<etag>.incomplete` written in pieces, renamed into blobs/, linked from the snapshot."""
        self.serial += 1
        content = self.rng.randbytes(self.rng.randint(1, 48) * 1024)
        etag = hashlib.sha256(content + str(self.serial).encode()).hexdigest()
        partial = repo / "blobs" / f"{etag}.incomplete"
        with open(partial, "wb") as fh:
            for i in range(0, len(content), 16 * 1024):
                fh.write(content[i : i + 16 * 1024])
                fh.flush()
        os.rename(partial, repo / "blobs" / etag)
        link = snap / name
        if link.is_symlink():
            link.unlink()
        os.symlink(f"../../blobs/{etag}", link)

    def new_repo(self) -> None:
        self.serial += 1
        repo = self.hub / f"models--org{self.serial % 7}--model-{self.serial}"
        commit = hashlib.sha1(str(self.serial).encode()).hexdigest()
        snap = repo / "snapshots" / commit
        snap.mkdir(parents=True)
        (repo / "blobs").mkdir()
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)
        for i in range(self.rng.randint(1, 4)):
            self._blob(repo, snap, f"file-{i}.bin")
        self._count("hub_repo_created")

    def repos(self) -> list[Path]:
        return sorted(p for p in self.hub.iterdir() if p.name.startswith("models--"))

    def step(self) -> None:
        repos = self.repos()
        roll = self.rng.random()
        if not repos or (roll < 0.25 and len(repos) < self.max_repos):
            self.new_repo()
        elif roll < 0.55:
            repo = self.rng.choice(repos)
            snaps = list((repo / "snapshots").iterdir())
            if snaps:
                self._blob(repo, snaps[0], f"extra-{self.rng.randint(0, 9)}.bin")
                self._count("hub_blob_completed")
        elif roll < 0.65:
            repo = self.rng.choice(repos)
            links = [p for s in (repo / "snapshots").iterdir() for p in s.iterdir()]
            if len(links) > 1:
                link = self.rng.choice(links)
                target = os.readlink(link)
                link.unlink()
                blob = repo / "blobs" / os.path.basename(target)
                if blob.exists() and not any(os.readlink(x) == target for x in links if x != link):
                    blob.unlink()
                self._count("hub_file_deleted")
        elif roll < 0.72:
            shutil.rmtree(self.rng.choice(repos))
            self._count("hub_repo_deleted")
        elif roll < 0.78:
            repo = self.rng.choice(repos)  # a download left partial (a killed web UI), deleted later
            (repo / "blobs" / f"{self.rng.getrandbits(128):032x}.incomplete").write_bytes(b"\0" * 4096)
            self._count("hub_partial_left")
        elif roll < 0.82:
            for p in self.hub.glob("models--*/blobs/*.incomplete"):
                p.unlink()
                self._count("hub_partial_removed")
        else:
            self.plain_step()

    def plain_step(self) -> None:
        entries = sorted(self.plain.iterdir())
        roll = self.rng.random()
        if roll < 0.5 or not entries:
            self.serial += 1
            folder = self.plain / f"model-{self.serial % 40}"
            folder.mkdir(exist_ok=True)
            dest = folder / f"weights-{self.rng.randint(0, 5)}.pt"
            tmp = folder / f".{dest.name}.{self.rng.getrandbits(24):06x}"  # rsync's temporary name
            tmp.write_bytes(self.rng.randbytes(self.rng.randint(1, 32) * 1024))
            os.rename(tmp, dest)
            self._count("plain_file_synced")
        elif roll < 0.8:
            victim = self.rng.choice(entries)
            files = [p for p in victim.rglob("*") if p.is_file()] if victim.is_dir() else [victim]
            if files:
                self.rng.choice(files).unlink()
                self._count("plain_file_deleted")
        else:
            victim = self.rng.choice(entries)
            shutil.rmtree(victim) if victim.is_dir() else victim.unlink()
            self._count("plain_model_deleted")


# -- the web UI log -----------------------------------------------------------------------------------------
class LogWriter(threading.Thread):
    """Writes `rate` lines/s to `path` in 10 ms batches; renames it to `path.1` every `rotate_every` seconds
    (logging.handlers.RotatingFileHandler's way: close, rename, open anew)."""

    def __init__(self, path: Path, rate: int, rotate_every: float) -> None:
        super().__init__(name="log-writer", daemon=True)
        self.path, self.rate, self.rotate_every = path, rate, rotate_every
        self.written = 0
        self.rotations = 0
        self.halt = threading.Event()

    def _line(self, n: int) -> str:
        if n % 500 == 0:
            return f"model-{n % 97}.safetensors: 100%|##########| 12.0M/12.0M [00:01<00:00, 9.5MB/s]\n"
        if n % 250 == 0:
            return f">> GPT weights restored from: ./checkpoints/gpt-{n}.pth\n"
        return f"line {n} text to speech request done in 0.{n % 1000:03d}s\n"

    def run(self) -> None:
        fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - reopened at each rotation
        start = last_rotation = time.monotonic()
        while not self.halt.is_set():
            now = time.monotonic()
            due = int((now - start) * self.rate) - self.written
            if due > 0:
                fh.write("".join(self._line(self.written + i + 1) for i in range(due)))
                fh.flush()
                self.written += due
            if now - last_rotation >= self.rotate_every:
                fh.close()
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                self.rotations += 1
                last_rotation = now
            self.halt.wait(0.01)
        fh.close()


# -- the exporter and its figures -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_figures(pid: int) -> tuple[int, int]:
    """(VmRSS in KiB, open file descriptors) of a process."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        rss = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def proc_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_threads(pid: int) -> int:
    """Threads of a process."""
    return len(os.listdir(f"/proc/{pid}/task"))


class Scrapers:
    """`count` scrapers, each a thread with its own keep-alive connection scraping `url` every `interval`
    seconds (as that many Prometheus servers would), keeping every latency.

    They run in a process of their own (`start`/`stop`), so the latencies are not those of this process's GIL
    (the churn and the log writer run here)."""

    def __init__(self, url: str, count: int, interval: float) -> None:
        self.url, self.count, self.interval = url, count, interval
        self.latencies: list[float] = []
        self.errors = 0
        ctx = multiprocessing.get_context("spawn")
        self._halt = ctx.Event()
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_scrape_process, args=(url, count, interval, self._halt, send), daemon=True)

    def start(self) -> None:
        if self.count:
            self._proc.start()

    def stop(self) -> None:
        if not self.count:
            return
        self._halt.set()
        if self._recv.poll(30):
            self.latencies, self.errors = self._recv.recv()
        self._proc.join(15)

    def summary(self) -> str:
        """`n ok / failed, p50 / p99 / max`."""
        lat, errors = sorted(self.latencies), self.errors
        if not lat:
            return f"0 ok / {errors} failed"
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (
            f"{len(lat)} ok / {errors} failed, p50 {statistics.median(lat) * 1000:.1f} ms / "
            f"p99 {p99 * 1000:.1f} ms / max {lat[-1] * 1000:.0f} ms"
        )


def _scrape_process(url: str, count: int, interval: float, halt: Any, out: Any) -> None:
    """The scrapers' process: `count` threads until `halt` is set, then every latency and the failures to `out`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def loop() -> None:
        session = requests.Session()
        session.trust_env = False
        while not halt.is_set():
            t0 = time.perf_counter()
            try:
                session.get(url, timeout=10).raise_for_status()
                ok = True
            except requests.RequestException:
                ok = False
            took = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    errors[0] += 1
            halt.wait(max(0.0, interval - took))

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.send((latencies, errors[0]))


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for name, labels, value in SAMPLE.findall(text):
        out[(name, frozenset(LABEL.findall(labels)))] = float(value)
    return out


def model_table(metrics: dict, root: str) -> dict[str, tuple[float, float]]:
    """{repo: (size, files)} on /metrics for one root."""
    out: dict[str, list[float]] = {}
    for (name, labels), v in metrics.items():
        lab = dict(labels)
        if lab.get("root") != root:
            continue
        if name == "modelcache_model_size_bytes":
            out.setdefault(lab["repo"], [0.0, 0.0])[0] = v
        elif name == "modelcache_model_files":
            out.setdefault(lab["repo"], [0.0, 0.0])[1] = v
    return {k: (v[0], v[1]) for k, v in out.items()}


def fresh_tables(hub: Path, plain: Path) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """What a fresh scan of the final tree says: scan_cache_dir for the hub root, our exact scan for plain."""
    from huggingface_hub import scan_cache_dir

    from modelcache_exporter.layouts import scan_root

    hub_info = scan_cache_dir(hub)
    theirs = {r.repo_id: (float(r.size_on_disk), float(r.nb_files)) for r in hub_info.repos}
    ours = {m.repo_id: (float(m.size_bytes), float(m.files)) for m in scan_root(str(plain), "plain", "plain").models}
    return theirs, ours


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 3:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 3600.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=int, default=5000, help="log lines per second")
    ap.add_argument("--rotate-every", type=float, default=60.0, help="seconds between log rotations")
    ap.add_argument("--churn-interval", type=float, default=0.05, help="seconds between cache actions")
    ap.add_argument("--sample-every", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before the first RSS/fd figure counts")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--exporter-arg", action="append", default=[], help="an extra exporter flag (repeatable)")
    ap.add_argument("--scrapers", type=int, default=0, help="parallel scrapers during the soak (0: none)")
    ap.add_argument("--scrape-interval", type=float, default=1.0, help="seconds between one scraper's scrapes")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modelcache-soak-"))
    hub, plain, state, log = work / "hub", work / "hf_cache", work / "state", work / "webui.log"
    hub.mkdir()
    plain.mkdir()
    churn = Churn(hub, plain, random.Random(20261121))
    for _ in range(60):
        churn.new_repo()
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    cmd = [
        sys.executable, "-m", "modelcache_exporter", f"--web.listen-address=127.0.0.1:{port}",
        "--path.cache", str(hub), "--path.cache", str(plain), "--path.state", str(state),
        "--path.webui-log", str(log), "--collector.cache.max-models", "100000",
        "--collector.logs.rotate-wait", "5s", *args.exporter_arg,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    stderr = open(work / "exporter.log", "w")  # noqa: SIM115 - the exporter's log, closed after it exits
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr, cwd=str(REPO_ROOT))
    session = requests.Session()
    session.trust_env = False
    deadline = time.monotonic() + 30
    while True:
        try:
            if session.get(url, timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            print("exporter did not start; see", work / "exporter.log", file=sys.stderr)
            return 1
        time.sleep(0.2)

    writer = LogWriter(log, args.rate, args.rotate_every)
    writer.start()
    scrapers = Scrapers(url, args.scrapers, args.scrape_interval)
    scrapers.start()
    t0 = time.monotonic()
    cpu0 = proc_cpu_seconds(proc.pid)
    end = t0 + args.minutes * 60
    rss: list[tuple[float, float]] = []
    fds: list[tuple[float, float]] = []
    threads: list[tuple[float, float]] = []
    scrapes, scrape_errors, slowest = 0, 0, 0.0
    next_sample = t0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the finally below stops the exporter
    try:
        while time.monotonic() < end:
            churn.step()
            now = time.monotonic()
            if now >= next_sample:
                next_sample = now + args.sample_every
                r, f = proc_figures(proc.pid)
                rss.append((now - t0, r / 1024))
                fds.append((now - t0, f))
                threads.append((now - t0, proc_threads(proc.pid)))
                s0 = time.perf_counter()
                try:
                    session.get(url, timeout=10).raise_for_status()
                    scrapes += 1
                except requests.RequestException:
                    scrape_errors += 1
                slowest = max(slowest, time.perf_counter() - s0)
                if int(now - t0) % 60 < args.sample_every:
                    print(
                        f"[{(now - t0) / 60:5.1f} min] rss={r / 1024:.1f} MiB fds={f} lines={writer.written}",
                        file=sys.stderr,
                        flush=True,
                    )
            time.sleep(args.churn_interval)
    except BaseException:
        proc.kill()
        raise
    finally:
        writer.halt.set()
        writer.join()
        scrapers.stop()
    cpu_share = (proc_cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)

    # Quiescence: the cache and the log stop changing; wait for the exporter to catch up.
    hub_fresh, plain_fresh = fresh_tables(hub, plain)
    lines_counted = -1.0
    settle_deadline = time.monotonic() + 60
    while True:
        m = parse(session.get(url, timeout=10).text)
        lines_counted = m.get(("modelcache_log_lines_total", frozenset({("log", "webui")})), -1.0)
        same = model_table(m, "hub") == hub_fresh and model_table(m, "hf_cache") == plain_fresh
        if (same and lines_counted == writer.written) or time.monotonic() > settle_deadline:
            break
        time.sleep(1.0)
    settled = time.monotonic() - (settle_deadline - 60)
    final_rss, final_fds = proc_figures(proc.pid)
    final_threads = proc_threads(proc.pid)
    hub_ex, plain_ex = model_table(m, "hub"), model_table(m, "hf_cache")
    rotations = m.get(("modelcache_log_rotations_total", frozenset({("log", "webui")})), -1.0)
    corrections = sum(v for (n, _), v in m.items() if n == "modelcache_index_corrections_total")
    events = sum(v for (n, _), v in m.items() if n == "modelcache_index_events_total")
    by_root = {dict(labels)["root"]: v for (n, labels), v in m.items() if n == "modelcache_cache_wipes_total"}
    wipes = ", ".join(f"{root} {int(v)}" for root, v in sorted(by_root.items()))
    downloads = sum(v for (n, _), v in m.items() if n == "modelcache_downloads_total")
    served = m.get(("modelcache_exporter_scrape_duration_seconds_count", frozenset()), 0.0)
    served_s = m.get(("modelcache_exporter_scrape_duration_seconds_sum", frozenset()), 0.0)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(30)
    stderr.close()

    def mismatch(a: dict, b: dict) -> int:
        return sum(1 for k in set(a) | set(b) if a.get(k) != b.get(k))

    warm = [p for p in rss if p[0] >= args.warmup] or rss
    warm_fds = [p for p in fds if p[0] >= args.warmup] or fds
    warm_threads = [p for p in threads if p[0] >= args.warmup] or threads
    rows = [
        ("duration", f"{args.minutes:g} min, {args.rate} lines/s, rotation every {args.rotate_every:g} s"),
        ("cache actions", ", ".join(f"{k} {v}" for k, v in sorted(churn.actions.items()))),
        ("RSS MiB (after warm-up / end / max)", f"{warm[0][1]:.1f} / {final_rss / 1024:.1f} / "
                                                 f"{max(v for _, v in rss):.1f}"),
        ("RSS slope after warm-up", f"{slope_per_hour(warm):+.2f} MiB/h"),
        ("RSS slope over the second half", f"{slope_per_hour(rss[len(rss) // 2 :]):+.2f} MiB/h"),
        ("open fds (after warm-up / end / max)", f"{int(warm_fds[0][1])} / {final_fds} / "
                                                  f"{int(max(v for _, v in fds))}"),
        ("fd slope after warm-up", f"{slope_per_hour(warm_fds):+.2f} /h"),
        ("threads (after warm-up / end / max)", f"{int(warm_threads[0][1])} / {final_threads} / "
                                                 f"{int(max(v for _, v in threads))}"),
        ("scrapes (ok / failed / slowest)", f"{scrapes} / {scrape_errors} / {slowest * 1000:.0f} ms"),
        (f"{args.scrapers} parallel scrapers, one scrape per {args.scrape_interval:g} s each", scrapers.summary()),
        ("exporter CPU during the run", f"{cpu_share * 100:.0f} % of a core"),
        ("scrapes served / mean time in the exporter", f"{int(served)} / {served_s / max(served, 1) * 1000:.2f} ms"),
        ("log lines written / counted", f"{writer.written} / {int(lines_counted)}"),
        ("log rotations done / counted", f"{writer.rotations} / {int(rotations)}"),
        ("hub models: exporter / scan_cache_dir / mismatched", f"{len(hub_ex)} / {len(hub_fresh)} / "
                                                               f"{mismatch(hub_ex, hub_fresh)}"),
        ("plain models: exporter / fresh scan / mismatched", f"{len(plain_ex)} / {len(plain_fresh)} / "
                                                             f"{mismatch(plain_ex, plain_fresh)}"),
        ("index events / reconcile corrections", f"{int(events)} / {int(corrections)}"),
        ("downloads classified / cache wipes counted (by root)", f"{int(downloads)} / {wipes}"),
        ("caught up after the churn stopped", f"{settled:.1f} s"),
        ("exit code on SIGTERM", str(code)),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    print(f"| {'soak':<{width}} | result |\n|{'-' * (width + 2)}|--------|")
    for k, v in rows:
        print(f"| {k:<{width}} | {v} |")
    if args.keep:
        print(f"kept {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    ok = (
        lines_counted == writer.written
        and not mismatch(hub_ex, hub_fresh)
        and not mismatch(plain_ex, plain_fresh)
        and code == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
