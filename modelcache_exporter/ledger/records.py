"""What a ledger sync writes: the rows of the `artifacts` table, and the repo label of a model."""

from __future__ import annotations

from modelcache_exporter.ledger.classify import RETURNED, Arrival
from modelcache_exporter.scan.hub import parse_repo_dirname

UPSERT = (
    "INSERT INTO artifacts (root, model, ident, size, first_seen, last_seen, fetched, present, inode, stamp) "
    "VALUES (?,?,?,?,?,?,?,1,?,?) ON CONFLICT(root, model, ident) DO UPDATE SET size=excluded.size, "
    "last_seen=excluded.last_seen, fetched=fetched+excluded.fetched, present=1, inode=excluded.inode, "
    "stamp=excluded.stamp"
)


def repo_of(key: str, layout: str) -> str:
    """The repo label of a model known only by its key (hub folder names carry the repo id)."""
    parsed = parse_repo_dirname(key) if layout == "hf-hub" else None
    return parsed[1] if parsed else key


def artifact_row(root: str, key: str, a: Arrival, now: float, seeding: bool) -> tuple[object, ...]:
    """The `artifacts` row of an arrival (`fetched` counts downloads: not a seed, not a return)."""
    fetched = 0 if seeding or a.reason == RETURNED else 1
    return (root, key, a.ident, a.size, now, now, fetched, a.file.inode, a.file.stamp)
