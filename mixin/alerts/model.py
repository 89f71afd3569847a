"""What an alert is before it becomes a Prometheus rule, and the formatting its texts share."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("warning", "critical")


@dataclass(frozen=True)
class Alert:
    """One alerting rule. `expr` may use `{sel}` for the configured matchers; `name` lacks the PREFIX."""

    name: str
    severity: str
    expr: str
    summary: str
    description: str
    for_: str = ""


def pct(ratio: float) -> str:
    """0.85 -> '85%'."""
    return f"{ratio * 100:g}%"


def secs(seconds: float) -> str:
    """A threshold in seconds, as on-call reads it: 0.1 -> '100ms', 60 -> '60s', 900 -> '15m', 43200 -> '12h'."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g}{unit}"
    return f"{seconds:g}s"


def seconds(duration: str) -> int:
    """A PromQL duration of one unit ('90s', '15m', '1h', '1d') in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(duration[:-1]) * units[duration[-1]]


def recently(timestamp_metric: str, window: str, gap: str) -> str:
    """The event whose time `timestamp_metric` holds happened within `window`.

    A timestamp, not `increase()` of a counter: a counter needs two samples of one series, so a re-download
    done before the first scrape of a new instance (a recreated pod has a new `instance` label, and its
    web UI starts downloading at once) would never page. The exporter keeps the time in its ledger, so the
    page neither depends on the series' history nor ends when the exporter restarts; `last_over_time` over
    `gap` (THRESHOLDS' `event_gap`) bridges the failed scrapes of a restart, which would otherwise resolve the
    alert and page again a minute later.
    """
    return f"time() - last_over_time({timestamp_metric}[{gap}]) < {seconds(window)}"
