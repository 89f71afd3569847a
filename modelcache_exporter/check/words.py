"""Small words of the `check` report: counts with their plural, sizes, ages, short hashes."""

from __future__ import annotations

IRREGULAR = {"is": "are", "has": "have", "entry": "entries", "was": "were"}


def count(n: int, word: str) -> str:
    """`count(1, "model")` -> '1 model', `count(2, "model")` -> '2 models'."""
    return f"{n} {word if n == 1 else IRREGULAR.get(word, word + 's')}"


def size(n: float | None) -> str:
    """1234567 -> '1.23 MB'."""
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return str(n)


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
