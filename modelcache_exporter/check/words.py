"""Small words of the `check` report: counts with their plural and sizes (as the landing page says them,
`base.human`), ages, short hashes."""

from __future__ import annotations

from modelcache_exporter.base.human import count, size

__all__ = ["age", "count", "short", "size"]


def age(seconds: float) -> str:
    """42 -> '42 s', 4000 -> '1 h 6 min'."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} days"


def short(commit: str) -> str:
    """A commit or blob hash as people quote it (8 characters)."""
    return commit[:8]
