"""Log throughput: our full parser (every built-in profile, through the real monitor) against
`mtail --one_shot` counting the same events on the same generated web UI log, side by side.

The log (bench/loggen.py: real line formats of the sample logs, `\\r`-joined tqdm bars, a known
ground truth) is written to a temporary directory. Every run of every tool must reproduce the
ground truth; a row's note says so. mtail reads physical lines as we do (the `\\r` trap of
measurements.md §4 does not apply: both count one download per `\\r`-joined bar line). The mtail
program is written for speed the mtail way (anchored prefixes, nested blocks); a 2-counter
program is measured too, for comparison with measurements.md.

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
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, render, timed_process
from loggen import TRUTH_KEYS

HERE = Path(__file__).resolve().parent
SECTION = "logs"
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


def _check(counts: Mapping[str, float], truth: Mapping[str, int], keys: tuple[str, ...]) -> str:
    wrong = [f"{k} {counts.get(k)} != {truth[k]}" for k in keys if counts.get(k) != truth[k]]
    return "counts = ground truth" if not wrong else "MISMATCH: " + ", ".join(wrong)


def _ours(log: Path, tmp: Path, truth: Mapping[str, int], reps: int, size: str) -> list[Row]:
    rows: list[Row] = []
    out = tmp / "ours.json"
    for listener, what in (("some", "ours: full parser"), ("all", "ours: + listener on every event")):
        cmd = [sys.executable, str(HERE / "logs_driver.py"), str(log), str(out), "--listener", listener]
        timed_process(cmd)  # warm-up
        walls, parses, notes, rss = [], [], set(), 0.0
        for _ in range(reps):
            wall, peak = timed_process(cmd)
            result = json.loads(out.read_text())
            walls.append(truth["lines"] / wall)
            parses.append(truth["lines"] / result["parse_seconds"])
            notes.add(_check(result["counts"], truth, TRUTH_KEYS))
            rss = max(rss, peak)
        note = f"{'; '.join(sorted(notes))}; peak RSS {rss:.0f} MiB"
        target = ">= 5x mtail, ~2 M lines/s" if listener == "some" else ""
        rows.append(Row(SECTION, f"{what}, in-process", size, parses, "lines/s", "mtail: same events", target, note))
        if listener == "some":
            rows.append(Row(SECTION, f"{what}, process wall", size, walls, "lines/s", "mtail: same events", "", note))
    return rows


def _mtail_counts(text: str) -> dict[str, float]:
    counts = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            counts[name.split("{")[0]] = float(value)
    return counts


def _mtail(log: Path, tmp: Path, truth: Mapping[str, int], reps: int, size: str) -> list[Row]:
    mtail = shutil.which("mtail")
    if mtail is None:
        missing = "mtail not installed (Debian: apt install mtail); no comparison"
        return [Row(SECTION, "mtail: same events", size, [0.0], "lines/s", note=missing)]
    rows = []
    programs = [("mtail: same events", MTAIL_SAME, TRUTH_KEYS), ("mtail: 2 counters", MTAIL_MIN, ("ready", "requests"))]
    for what, program, keys in programs:
        progs = tmp / what.replace(" ", "_").replace(":", "")
        progs.mkdir()
        (progs / "webui.mtail").write_text(program)
        result = tmp / "mtail.out"
        samples, notes, rss = [], set(), 0.0
        for rep in range(reps + 1):
            cmd = [mtail, "--one_shot", "--one_shot_format", "prometheus", "--progs", str(progs), "--logs", str(log)]
            cmd += ["--address", "127.0.0.1", "--port", str(_free_port()), "--logtostderr"]
            with open(result, "w") as fh:
                wall, peak = timed_process(cmd, stdout=fh.fileno())
            if rep:  # the first run is a warm-up
                samples.append(truth["lines"] / wall)
                notes.add(_check(_mtail_counts(result.read_text()), truth, keys))
                rss = max(rss, peak)
        note = f"{'; '.join(sorted(notes))}; peak RSS {rss:.0f} MiB"
        rows.append(Row(SECTION, what, size, samples, "lines/s", "mtail: same events", note=note))
    return rows


def _wc(log: Path, truth: Mapping[str, int], reps: int, size: str) -> Row:
    timed_process(["wc", "-l", str(log)])
    samples = [truth["lines"] / timed_process(["wc", "-l", str(log)])[0] for _ in range(reps)]
    return Row(SECTION, "wc -l (reading floor)", size, samples, "lines/s", "mtail: same events")


def run(quick: bool) -> list[Row]:
    """Generate the log, then measure every tool on it, `reps` times each after a warm-up."""
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
        rows = _mtail(log, tmp, truth, reps, size)
        rows += _ours(log, tmp, truth, reps, size)
        rows.append(_wc(log, truth, reps, size))
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print(render(run("--quick" in sys.argv)))
