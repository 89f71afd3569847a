"""Classification of arrivals, pure: what arrived, what left, and why it arrived.

- `redownload`: the identity was seen complete before (and went away, or its file was replaced by a
  new one: another inode, or the same inode number born again — `identity.py`): the unexpected case;
- `new_revision`: a new identity for a model already tracked, with a revision not seen before
  (hub, local-dir), or a known path with new content (plain): an update;
- `first`: anything else (a model's first download, or more files of a known revision);
- `synced`: any of these that no download was seen writing (no partial file, no lock) and whose file is
  older than the moment it appeared by more than `SYNCED_AGE`: a copy that kept its mtime (`rsync -a`,
  `cp -a`, a restore from backup), not a byte from the Hub.

An artifact that comes back in the very file it was recorded in (same inode and birth time: a volume
mounted again, a folder moved away and back) was never downloaded: it is `returned`, recorded present
again and counted nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modelcache_exporter.ledger.artifacts import Seen, artifact_path
from modelcache_exporter.ledger.identity import FileId, same_file
from modelcache_exporter.ledger.store import Row

REASONS = ("first", "new_revision", "redownload", "synced")
RETURNED = "returned"
SYNCED = "synced"
#: A file that arrives with an mtime this many seconds before it was seen, no download seen writing it, was copied.
SYNCED_AGE = 60.0


def copied_verdict(reason: str, mtime: float, born: float, seconds: float | None, now: float) -> str:
    """`synced` for an arrival whose download was never seen and whose content is older than its file by more
    than `SYNCED_AGE`; `reason` otherwise.

    The file's age is its mtime against its birth time (`born`, from statx) where the filesystem keeps one:
    a download writes its file from the moment it is born (mtime after birth), a copy that keeps the source's
    mtime (`rsync -a`, `cp -a`, a restore) is born now with an old mtime. This holds however late the arrival is
    seen: a model downloaded again while the exporter was down is still a re-download when it comes back. Where
    there is no birth time (`born` equals the mtime), the moment the arrival is seen (`now`) stands in for it,
    and a download older than `SYNCED_AGE` that was never seen counts as synced."""
    if reason == RETURNED or seconds is not None or not mtime:
        return reason
    reference = born if born and abs(born - mtime) > 1e-6 else now
    return SYNCED if mtime < reference - SYNCED_AGE else reason


@dataclass(frozen=True)
class Arrival:
    """An artifact that arrived complete: its verdict, size, download time (when its start was seen)."""

    ident: str
    reason: str
    size: int
    seconds: float | None
    file: FileId
    replaced: bool = False  # it was present already: the same content fetched again into a new file


@dataclass(frozen=True)
class Diff:
    """Arrivals with their reason, departures, and present artifacts whose file was never stamped."""

    arrived: tuple[tuple[str, str], ...]
    removed: tuple[str, ...]
    unstamped: tuple[str, ...] = ()


def diff(
    current: Mapping[str, Seen],
    rows: Mapping[str, Row],
    known_revs: set[str],
    current_revs: set[str],
    layout: str,
) -> Diff:
    """Compare what is on disk with the ledger's rows."""
    present = {i for i, r in rows.items() if r.present}
    known_paths = {artifact_path(i, layout) for i in rows}
    new_revs = {r for r in current_revs if r} - known_revs
    arrived = []
    for ident in sorted(set(current) - present):
        row = rows.get(ident)
        if row is not None and row.stamp and same_file(FileId(row.inode, row.stamp), current[ident].file):
            arrived.append((ident, RETURNED))
            continue
        arrived.append((ident, reason_for(ident, rows, known_revs, new_revs, known_paths, layout)))
    unstamped = []
    for ident in sorted(set(current) & present):
        row = rows[ident]
        if not same_file(FileId(row.inode, row.stamp), current[ident].file):
            arrived.append((ident, "redownload"))  # the same content, fetched again into a new file
        elif not row.stamp:
            unstamped.append(ident)  # recorded by an older version: stamp it now
    return Diff(tuple(arrived), tuple(sorted(present - set(current))), tuple(unstamped))


def reason_for(
    ident: str, rows: Mapping[str, Row], known_revs: set[str], new_revs: set[str], known_paths: set[str], layout: str
) -> str:
    """Why one identity arrived."""
    if ident in rows:
        return "redownload"
    if layout in ("plain", "modelscope"):
        return "new_revision" if artifact_path(ident, layout) in known_paths else "first"
    return "new_revision" if known_revs and new_revs else "first"
