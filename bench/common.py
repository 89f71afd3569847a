"""Shared helpers of the benchmarks: timing processes side by side, and one results table.

Every section returns `Row`s; `bench/run.py` prints them as one table (median, min, max over the
repetitions) with the ratio to the row named as its baseline, and writes `bench/results.md`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Row:
    """One measured thing: `samples` in `unit`; `baseline` names the row its ratio is taken against."""

    section: str
    what: str
    size: str
    samples: list[float]
    unit: str = "s"
    baseline: str = ""
    target: str = ""
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def metric_value(text: str, name: str, **labels: str) -> float | None:
    """The value of series `name{labels}` (labels in sorted order, as the exporter writes them) in a
    /metrics text body, or None when it is not there."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    series = f"{name}{{{want}}} "
    # str.find, not a multi-line regex: a scraper thread parses each body while its siblings wait for their
    # responses, and a 1M cache's body took the regexes 9 ms of this process's GIL (their latencies with it)
    if text.startswith(series):
        start = len(series)
    else:
        at = text.find("\n" + series)
        if at < 0:
            return None
        start = at + 1 + len(series)
    end = text.find("\n", start)
    return float(text[start : end if end >= 0 else len(text)].split()[0])


def timed_process(
    cmd: Sequence[str], env: dict[str, str] | None = None, stdout: int | None = subprocess.DEVNULL
) -> tuple[float, float]:
    """Run `cmd`; return (wall seconds, peak RSS in MiB of that process) from wait4's rusage."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024


def repeat(fn: Callable[[], float], times: int, warmup: int = 1) -> list[float]:
    """Call `fn` (which returns one measurement) `warmup` + `times` times; keep the last `times`."""
    for _ in range(warmup):
        fn()
    return [fn() for _ in range(times)]


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.3f} s"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "B/s":
        return f"{value / 1e6:.0f} MB/s"
    if unit == "lines/s":
        return f"{value / 1e6:.2f} M/s"
    return f"{value:.4g} {unit}"


def render(rows: Sequence[Row]) -> str:
    """Markdown table; ratio = median / median of the baseline row (same section and size)."""
    by_key = {(r.section, r.what, r.size): r for r in rows}
    lines = [
        "| section | what | size | median | min | max | n | ratio | target | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = by_key.get((r.section, r.baseline, r.size)) if r.baseline else None
        ratio = f"{r.median / base.median:.3f}x" if base and base.median else ""
        lines.append(
            f"| {r.section} | {r.what} | {r.size} | {_fmt(r.median, r.unit)} | {_fmt(min(r.samples), r.unit)} "
            f"| {_fmt(max(r.samples), r.unit)} | {len(r.samples)} | {ratio} | {r.target} | {r.note} |"
        )
    return "\n".join(lines)
