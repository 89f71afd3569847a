"""The ledger's storage: SQLite in the state directory, meant for a persistent volume.

Every completed artifact ever seen is a row: identity (root, model, ident), size, first and last
seen, how many times it arrived, whether it is present now; the models, their revisions, the download
history. What happens when the file fails (the ledger carries on in memory, and back) is `database`'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from modelcache_exporter.ledger.database import ERROR_KINDS, Database

HISTORY_LIMIT = 10_000


@dataclass(frozen=True)
class Row:
    """An artifact as the ledger knows it."""

    ident: str
    size: int
    fetched: int
    present: bool
    inode: int = 0
    stamp: int = 0  # see identity.py: birth time (or mtime) in ns of the file that held it; 0 = not recorded


@dataclass(frozen=True)
class KnownFile:
    """A file of a model's revision the ledger has seen, with its artifact's size and whether it is present now."""

    model: str
    revision: str
    path: str
    ident: str
    seen: float
    size: int
    present: bool


_FILES = (
    "SELECT f.model, f.rev, f.path, f.ident, f.seen, COALESCE(a.size, 0), COALESCE(a.present, 0) FROM files f "
    "LEFT JOIN artifacts a ON a.root=f.root AND a.model=f.model AND a.ident=f.ident WHERE f.root=? AND "
)


class Store(Database):
    """The ledger's rows and history, on the database `Database` keeps usable."""

    # -- domain operations ---------------------------------------------------------------------
    def rows(self, root: str, model: str) -> dict[str, Row]:
        """Every artifact of one model."""
        got = self.query(
            "SELECT ident, size, fetched, present, inode, stamp FROM artifacts WHERE root=? AND model=?", (root, model)
        )
        return {str(i): Row(str(i), int(s), int(f), bool(p), int(n), int(t)) for i, s, f, p, n, t in got}  # type: ignore[call-overload]

    def present_models(self, root: str) -> set[str]:
        """Models of a root with at least one artifact recorded present."""
        got = self.query("SELECT DISTINCT model FROM artifacts WHERE root=? AND present=1", (root,))
        return {str(r[0]) for r in got}

    def repos(self, root: str) -> dict[str, str]:
        """{model key: repo label} of every model ever recorded in a root."""
        return {str(m): str(r) for m, r in self.query("SELECT model, repo FROM models WHERE root=?", (root,))}

    def last_redownloads(self, root: str) -> dict[str, float]:
        """{repo: time of its latest re-download} from the history."""
        got = self.query(
            "SELECT repo, MAX(ts) FROM downloads WHERE root=? AND reason='redownload' GROUP BY repo", (root,)
        )
        return {str(repo): float(ts) for repo, ts in got}  # type: ignore[arg-type]

    def recent(self, root: str, limit: int) -> list[tuple[float, str, str, int, int]]:
        """The latest downloads of a root, oldest first: (time, repo, reason, files, bytes), one per model and
        verdict of a sync (its downloads share their time)."""
        got = self.query(
            "SELECT ts, repo, reason, COUNT(*), SUM(bytes) FROM downloads WHERE root=? GROUP BY ts, model, reason "
            "ORDER BY ts DESC LIMIT ?",
            (root, limit),
        )
        return [(float(t), str(r), str(why), int(n), int(b)) for t, r, why, n, b in reversed(got)]  # type: ignore[arg-type,call-overload]

    def last_wipe(self, root: str) -> float:
        """When the root was last wiped (0: never)."""
        got = self.query("SELECT value FROM meta WHERE key=?", (f"wipe:{root}",))
        return float(str(got[0][0])) if got else 0.0

    def mark_wipe(self, root: str, when: float) -> None:
        """Remember a wipe (its page lasts beyond a restart)."""
        self.write("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(f"wipe:{root}", repr(when))])

    def commits(self, root: str, model: str) -> set[str]:
        """Revisions ever seen for one model."""
        return {str(r[0]) for r in self.query("SELECT rev FROM commits WHERE root=? AND model=?", (root, model))}

    def seeded(self, root: str) -> bool:
        """Whether this root's content at first sight was already recorded."""
        return bool(self.query("SELECT 1 FROM meta WHERE key=?", (f"seeded:{root}",)))

    def mark_seeded(self, root: str) -> None:
        """Remember that the root was seen once (later arrivals count as downloads)."""
        self.write("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(f"seeded:{root}", str(time.time()))])

    def present_bytes(self, root: str) -> tuple[int, int]:
        """(artifacts, bytes) present in a root."""
        ((n, b),) = self.query(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM artifacts WHERE root=? AND present=1", (root,)
        ) or [(0, 0)]
        return int(n), int(b)  # type: ignore[call-overload]

    def history(self, limit: int = 50, reason: str = "") -> list[tuple[object, ...]]:
        """The latest downloads (newest first), optionally of one reason."""
        sql = "SELECT ts, root, repo, ident, reason, bytes, seconds FROM downloads"
        args: tuple[object, ...] = ()
        if reason:
            sql, args = sql + " WHERE reason=?", (reason,)
        return self.query(sql + " ORDER BY ts DESC LIMIT ?", (*args, limit))

    def model_files(self, root: str, model: str) -> list[KnownFile]:
        """Every file of one model the ledger has seen (any revision)."""
        return self._files(_FILES + "f.model=?", (root, model))

    def has_files(self, root: str, model: str) -> bool:
        """Whether the ledger knows any file of the model (a ledger written by an older version knows none)."""
        return bool(self.query("SELECT 1 FROM files WHERE root=? AND model=? LIMIT 1", (root, model)))

    def files_at(self, root: str, paths: list[str]) -> list[KnownFile]:
        """The files of a root seen at these paths (layouts whose files are named by their root-relative path)."""
        if not paths:
            return []
        return self._files(_FILES + f"f.path IN ({','.join('?' * len(paths))})", (root, *paths))

    def _files(self, sql: str, args: tuple[object, ...]) -> list[KnownFile]:
        rows = self.query(sql, args)
        return [
            KnownFile(str(m), str(r), str(p), str(i), float(t), int(s), bool(a))  # type: ignore[arg-type, call-overload]
            for m, r, p, i, t, s, a in rows
        ]

    def timed_downloads(self, min_bytes: int, limit: int, min_seconds: float) -> list[tuple[float, int, float]]:
        """(time, bytes, seconds) of the latest downloads of at least `min_bytes` that took `min_seconds` or more."""
        got = self.query(
            "SELECT ts, bytes, seconds FROM downloads WHERE seconds >= ? AND bytes >= ? AND reason != 'synced' "
            "ORDER BY ts DESC LIMIT ?",
            (min_seconds, min_bytes, limit),
        )
        return [(float(t), int(b), float(s)) for t, b, s in got]  # type: ignore[arg-type, call-overload]

    def last_load(self) -> float | None:
        """The web UI's last measured load duration, as last recorded (None: never)."""
        got = self.query("SELECT value FROM meta WHERE key='last_load'")
        return float(str(got[0][0])) if got else None

    def mark_load(self, seconds: float) -> None:
        """Remember the web UI's last load duration (the next-start forecast adds it)."""
        self.write("INSERT OR REPLACE INTO meta VALUES ('last_load', ?)", [(repr(seconds),)])

    def trim_history(self) -> None:
        """Keep the download history bounded."""
        self.write(
            "DELETE FROM downloads WHERE ts < (SELECT ts FROM downloads ORDER BY ts DESC LIMIT 1 OFFSET ?)",
            [(HISTORY_LIMIT,)],
        )


__all__ = ["ERROR_KINDS", "HISTORY_LIMIT", "KnownFile", "Row", "Store"]
