"""In-memory metric state of the log monitor. Written and read on the monitor's threads under its
lock; the collectors read the frozen copy the monitor publishes (`snapshot.LogSnapshot`)."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

LOAD_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
INFERENCE_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
DOWNLOAD_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
SOURCES = ("hf", "modelscope", "indextts")
DOWNLOAD_ERRORS = ("offline", "connection", "not_found", "auth", "http", "consistency", "download", "interrupted")
WEBUI_ERRORS = (
    *DOWNLOAD_ERRORS,
    "missing_model",
    "port",
    "oom",
    "traceback",
    "accel_fallback",
)
OTHER = "(other)"
UNKNOWN = "(unknown)"


class Hist:
    """A cumulative histogram: bucket counts, sum and count."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Record one value."""
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value

    def exposition(self) -> tuple[list[tuple[str, float]], float]:
        """([(le, cumulative count)... ending with +Inf], sum) for `HistogramMetricFamily`."""
        acc, out = 0, []
        for le, n in zip([*(f"{b:g}" for b in self.buckets), "+Inf"], self.counts, strict=True):
            acc += n
            out.append((le, float(acc)))
        return out, self.sum


class LabelCap:
    """Keeps the first `limit` distinct values of a label; later ones read as `(other)`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if not value:
            return UNKNOWN
        if value in self.seen:
            return value
        if len(self.seen) < self.limit:
            self.seen.add(value)
            return value
        return OTHER


@dataclass
class SourceStats:
    """Health of one log source (label `source` = its configured name)."""

    profiles: tuple[str, ...]
    lines: int = 0
    bytes: int = 0
    matched: list[int] = field(default_factory=list)
    rotations: int = 0
    truncations: int = 0
    read_errors: int = 0
    lines_truncated: int = 0
    last_line_time: float = 0.0
    patterns: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.matched = [0] * len(self.profiles)


@dataclass
class WebuiStats:
    """What the web UI's own lines say: errors by kind, requests, inference time, RTF."""

    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WEBUI_ERRORS, 0))
    requests: int = 0
    inference: Hist = field(default_factory=lambda: Hist(INFERENCE_BUCKETS))
    rtf: float | None = None


@dataclass
class DownloadStats:
    """Download counters by (source, repo label) and by source."""

    repos: LabelCap
    started: dict[tuple[str, str], int] = field(default_factory=dict)
    finished: dict[tuple[str, str], int] = field(default_factory=dict)
    bytes: dict[tuple[str, str], int] = field(default_factory=dict)
    durations: dict[str, Hist] = field(default_factory=lambda: {s: Hist(DOWNLOAD_BUCKETS) for s in SOURCES})
    errors: dict[tuple[str, str], int] = field(
        default_factory=lambda: {(s, k): 0 for s in SOURCES for k in DOWNLOAD_ERRORS}
    )

    def add(self, table: dict[tuple[str, str], int], source: str, repo: str, n: int = 1) -> None:
        """Add `n` to a (source, repo) counter; the repo label is capped."""
        key = (source, self.repos(repo))
        table[key] = table.get(key, 0) + n

    def duration(self, source: str) -> Hist:
        """The duration histogram of a source (custom sources get one on first use)."""
        found = self.durations.get(source)
        if found is None:
            found = self.durations[source] = Hist(DOWNLOAD_BUCKETS)
        return found
