"""Numbers as a person reads them: sizes in binary units with three significant digits, ages in one unit."""

from __future__ import annotations

import time

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(n: float | None) -> str:
    """Bytes in B, KiB, MiB, GiB... with three significant digits: 5_200_000 -> '4.96 MiB', 512 -> '512 B'."""
    if n is None:
        return "-"
    if n < 1000:
        return f"{int(n)} B"
    value, unit = float(n), 0
    while value >= 999.5 and unit < len(UNITS) - 1:  # 999.5 KiB would print as '1e+03 KiB'
        value /= 1024
        unit += 1
    digits = next(d for d in (3, 2, 1, 0) if round(value, d) < 10 ** (3 - d) or d == 0)
    return f"{value:.{digits}f} {UNITS[unit]}"


def duration(seconds: float) -> str:
    """A duration in one unit: '12 s', '5 min', '3 h', '4 d'."""
    for limit, div, unit in ((90, 1, "s"), (90 * 60, 60, "min"), (48 * 3600, 3600, "h")):
        if seconds < limit:
            return f"{seconds // div:.0f} {unit}"
    return f"{seconds // 86400:.0f} d"


def ago(seconds: float) -> str:
    """How long ago: '12 s ago', '5 min ago' ('just now' under a second)."""
    return "just now" if seconds < 1 else f"{duration(seconds)} ago"


def stamp(when: float) -> str:
    """A wall-clock time in UTC: '2026-01-01 12:00:03 UTC'."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def since(when: float, now: float) -> str:
    """'2026-01-01 12:00:03 UTC (5 min ago)'; 'never' for 0."""
    return f"{stamp(when)} ({ago(max(0.0, now - when))})" if when else "never"


IRREGULAR = {"is": "are", "has": "have", "entry": "entries", "was": "were"}


def count(n: int, noun: str) -> str:
    """'1 file', '3 files', '2 entries'."""
    return f"{n} {noun if n == 1 else IRREGULAR.get(noun, noun + 's')}"
