"""Log throughput: our full parser (every built-in profile, through the real monitor) against
`mtail --one_shot` counting the same events on the same generated web UI log, side by side.

The log (bench/loggen.py: real line formats of the sample logs, `\\r`-joined tqdm bars, a known
ground truth) is written to a temporary directory. Every run of every tool must reproduce the
ground truth; a row's note says so. mtail reads physical lines as we do (the `\\r` trap of
measurements.md §4 does not apply: both count one download per `\\r`-joined bar line). The mtail
program is written for speed the mtail way (anchored prefixes, nested blocks); a 2-counter
program is measured too, for comparison with measurements.md. The tools run interleaved (one
run of each per round), and lines per CPU-second (user+sys) are reported next to wall-clock
rates: on a loaded machine the single-threaded parser and multi-threaded mtail lose differently.

    python bench/sec_logs.py [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, render
from loggen import TRUTH_KEYS

HERE = Path(__file__).resolve().parent
SECTION = "logs"
BASELINE = "mtail: same events"
MTAIL_SAME = r"""
counter ready
counter stages
counter downloads_finished
counter requests
counter errors
counter indextts_downloads

/^>> / {
  /^>> Total inference time: / {
    requests++
  }
  /^>> ((GPT|semantic_codec|s2mel|campplus_model|bigvgan) weights restored from: |STAGES)/ {
    stages++
  }
  /^>> Downloading .+ to .+\.\.\. *$/ {
    indextts_downloads++
  }
}
/^Model d/ {
  /^Model downloaded successfully/ {
    stages++
  }
  /^Model directory .* is incomplete.*Downloading/ {
    indextts_downloads++
  }
}
/^\* Running on local URL: +/ {
  ready++
}
/^(Traceback \(most recent call last\):|OSError: We couldn't connect to)/ {
  errors++
}
/B\/s\] *$/ {
  /: +100%(\|[^|\r]*\|)? *[0-9.]+[kMGTPEZY]?\/[0-9.]+[kMGTPEZY]? \[[^\]\r]*B\/s\] *$/ {
    downloads_finished++
  }
}
""".replace("STAGES", "TextNormalizer loaded|bpe model loaded from: |Glossary loaded from: |All auxiliary models ready")
MTAIL_MIN = r"""
counter ready
counter requests

/^\* Running on local URL: +/ {
  ready++
}
/^>> Total inference time: / {
  requests++
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timed(cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, float, float]:
    """Run `cmd`: (wall seconds, peak RSS in MiB, CPU seconds user+sys) from wait4's rusage."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def _check(counts: Mapping[str, float], truth: Mapping[str, int], keys: tuple[str, ...]) -> str:
    wrong = [f"{k} {counts.get(k)} != {truth[k]}" for k in keys if counts.get(k) != truth[k]]
    return "counts = ground truth" if not wrong else "MISMATCH: " + ", ".join(wrong)


@dataclass
class Tool:
    """One measured command: `measure()` -> (lines/s by row name, count check, peak RSS in MiB)."""

    rows: tuple[str, ...]
    measure: Callable[[], tuple[dict[str, float], str, float]]
    target: str = ""


def _ours(log: Path, out: Path, truth: Mapping[str, int], listener: str) -> Tool:
    cmd = [sys.executable, str(HERE / "logs_driver.py"), str(log), str(out), "--listener", listener]
    name = "ours: full parser" if listener == "some" else "ours: + listener on every event"
    rows: tuple[str, ...] = (f"{name}, in-process",)
    if listener == "some":
        rows += (f"{name}, process wall", f"{name}, per CPU-second")

    def measure() -> tuple[dict[str, float], str, float]:
        wall, peak, cpu = _timed(cmd)
        result = json.loads(out.read_text())
        lines = truth["lines"]
        speeds = {rows[0]: lines / result["parse_seconds"], f"{name}, process wall": lines / wall}
        speeds[f"{name}, per CPU-second"] = lines / cpu
        return speeds, _check(result["counts"], truth, TRUTH_KEYS), peak

    return Tool(rows, measure, ">= 5x mtail, ~2 M lines/s" if listener == "some" else "")


def _mtail_counts(text: str) -> dict[str, float]:
    counts = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            counts[name.split("{")[0]] = float(value)
    return counts


def _mtail(mtail: str, log: Path, tmp: Path, truth: Mapping[str, int], what: str, program: str) -> Tool:
    progs = tmp / what.replace(" ", "_").replace(":", "")
    progs.mkdir()
    (progs / "webui.mtail").write_text(program)
    result = progs / "out.prom"
    keys = TRUTH_KEYS if program is MTAIL_SAME else ("ready", "requests")

    def measure() -> tuple[dict[str, float], str, float]:
        cmd = [mtail, "--one_shot", "--one_shot_format", "prometheus", "--progs", str(progs), "--logs", str(log)]
        cmd += ["--address", "127.0.0.1", "--port", str(_free_port()), "--logtostderr"]
        with open(result, "w") as fh:
            wall, peak, cpu = _timed(cmd, stdout=fh.fileno())
        speeds = {what: truth["lines"] / wall, f"{what}, per CPU-second": truth["lines"] / cpu}
        return speeds, _check(_mtail_counts(result.read_text()), truth, keys), peak

    rows = (what, f"{what}, per CPU-second") if program is MTAIL_SAME else (what,)
    return Tool(rows, measure)


def _wc(log: Path, truth: Mapping[str, int]) -> Tool:
    def measure() -> tuple[dict[str, float], str, float]:
        return {"wc -l (reading floor)": truth["lines"] / _timed(["wc", "-l", str(log)])[0]}, "", 0.0

    return Tool(("wc -l (reading floor)",), measure)


def _measure(tools: list[Tool], reps: int, size: str) -> list[Row]:
    """A warm-up of each tool, then `reps` rounds that run every tool once (load hits all alike)."""
    samples: dict[str, list[float]] = {row: [] for t in tools for row in t.rows}
    notes: dict[str, set[str]] = {row: set() for row in samples}
    rss: dict[str, float] = dict.fromkeys(samples, 0.0)
    for tool in tools:
        tool.measure()
    for _ in range(reps):
        for tool in tools:
            speeds, check, peak = tool.measure()
            for row in tool.rows:
                samples[row].append(speeds[row])
                notes[row].add(check)
                rss[row] = max(rss[row], peak)
    rows = []
    for tool in tools:
        for row in tool.rows:
            note = "; ".join(sorted(n for n in notes[row] if n)) + (
                f"; peak RSS {rss[row]:.0f} MiB" if rss[row] else ""
            )
            target = tool.target if row.endswith("in-process") else ""
            base = f"{BASELINE}, per CPU-second" if row.endswith("per CPU-second") else BASELINE
            rows.append(Row(SECTION, row, size, samples[row], "lines/s", base, target, note.strip("; ")))
    return rows


def run(quick: bool) -> list[Row]:
    """Generate the log, then measure every tool on it, interleaved, `reps` rounds after a warm-up."""
    lines, reps = (20_000, 3) if quick else (1_000_000, 5)
    tmp = Path(tempfile.mkdtemp(prefix="modelcache-logbench-"))
    try:
        log = tmp / "webui.log"
        # In a child process: a fork inherits the parent's peak RSS, which would then show in every row.
        made = subprocess.run(
            [sys.executable, str(HERE / "loggen.py"), str(log), "--lines", str(lines), "--json"],
            check=True,
            capture_output=True,
            text=True,
        )
        truth = json.loads(made.stdout)
        size = f"{truth['lines']:,} lines, {truth['bytes'] / 1e6:.0f} MB"
        mtail = shutil.which("mtail")
        tools = [_ours(log, tmp / "ours.json", truth, "some"), _ours(log, tmp / "all.json", truth, "all")]
        if mtail is not None:
            tools[:0] = [
                _mtail(mtail, log, tmp, truth, BASELINE, MTAIL_SAME),
                _mtail(mtail, log, tmp, truth, "mtail: 2 counters", MTAIL_MIN),
            ]
        rows = _measure([*tools, _wc(log, truth)], reps, size)
        if mtail is None:
            missing = "mtail not installed (Debian: apt install mtail); no comparison"
            rows.insert(0, Row(SECTION, BASELINE, size, [0.0], "lines/s", note=missing))
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print(render(run("--quick" in sys.argv)))
