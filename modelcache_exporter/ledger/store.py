"""The ledger's storage: SQLite in the state directory, meant for a persistent volume.

Every completed artifact ever seen is a row: identity (root, model, ident), size, first and last
seen, how many times it arrived, whether it is present now. A missing, corrupt, locked or read-only
database is reported (log line, `modelcache_ledger_persistent 0`, an error count by kind) and the
ledger carries on in memory, so the exporter never stops over it. Every parameter and column goes through
`base.names` (`to_db` / `from_db`): a name that is not UTF-8 is stored as its bytes and read back unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.names import from_db, to_db

log = logging.getLogger(__name__)
SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    root TEXT NOT NULL, model TEXT NOT NULL, ident TEXT NOT NULL, size INTEGER NOT NULL,
    first_seen REAL NOT NULL, last_seen REAL NOT NULL, fetched INTEGER NOT NULL DEFAULT 0,
    present INTEGER NOT NULL DEFAULT 1, inode INTEGER NOT NULL DEFAULT 0, stamp INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (root, model, ident)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS models (
    root TEXT NOT NULL, model TEXT NOT NULL, repo TEXT NOT NULL, PRIMARY KEY (root, model)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commits (
    root TEXT NOT NULL, model TEXT NOT NULL, rev TEXT NOT NULL, first_seen REAL NOT NULL,
    PRIMARY KEY (root, model, rev)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS downloads (
    ts REAL NOT NULL, root TEXT NOT NULL, model TEXT NOT NULL, repo TEXT NOT NULL, ident TEXT NOT NULL,
    reason TEXT NOT NULL, bytes INTEGER NOT NULL, seconds REAL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
HISTORY_LIMIT = 10_000
ERROR_KINDS = ("open", "corrupt", "locked", "readonly", "write")


@dataclass(frozen=True)
class Row:
    """An artifact as the ledger knows it."""

    ident: str
    size: int
    fetched: int
    present: bool
    inode: int = 0
    stamp: int = 0  # see identity.py: birth time (or mtime) in ns of the file that held it; 0 = not recorded


def classify_error(exc: sqlite3.Error | OSError) -> str:
    """Map a database failure to an `ERROR_KINDS` value."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "locked"
    if "readonly" in text or "read-only" in text:
        return "readonly"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "corrupt"
    if isinstance(exc, OSError) or "unable to open" in text:
        return "open"
    return "write"


class Store:
    """SQLite access; falls back to an in-memory database on any failure."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: Counter[str] = Counter()
        self.persistent = False
        self.lost_state = False  # set when a fallback could not carry the ledger's content over
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            db = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False, isolation_level=None)
            db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" + SCHEMA)
            _migrate(db)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('opened', ?)", (str(time.time()),))
            self.persistent = True
            return db
        except (sqlite3.Error, OSError) as exc:
            return self._fallback(exc)

    def _fallback(self, exc: sqlite3.Error | OSError) -> sqlite3.Connection:
        """Switch to an in-memory database, copying what the failed one holds when it can be read."""
        kind = classify_error(exc)
        if kind == "open" and not os.access(os.path.dirname(self.path) or ".", os.W_OK):
            kind = "readonly"
        self.errors[kind] += 1
        log.error(
            "download ledger unusable (%s: %s); keeping it in memory until restart - re-download "
            "verdicts will not survive a restart",
            kind,
            exc,
            extra=kv(path=self.path),
        )
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        old = getattr(self, "db", None)
        try:
            if old is None:
                raise sqlite3.Error("nothing to copy")
            old.backup(db)
        except sqlite3.Error:
            self.lost_state = old is not None
        db.executescript(SCHEMA)
        _migrate(db)
        self.persistent = False
        return db

    def write(self, sql: str, rows: Iterable[tuple[object, ...]] = ((),)) -> None:
        """Run a write; on failure switch to memory (the write is retried there)."""
        rows = _params(rows)
        try:
            self.db.executemany(sql, rows)
        except sqlite3.Error as exc:
            if not self.persistent:
                raise
            self.db = self._fallback(exc)
            self.db.executemany(sql, rows)

    def transaction(self, writes: Iterable[tuple[str, Iterable[tuple[object, ...]]]]) -> None:
        """Several writes in one transaction (one fsync); on failure, retried in memory."""
        batch = [(sql, _params(rows)) for sql, rows in writes]
        try:
            self._run(batch)
        except sqlite3.Error as exc:
            if not self.persistent:
                raise
            self.db = self._fallback(exc)
            self._run(batch)

    def _run(self, batch: list[tuple[str, list[tuple[object, ...]]]]) -> None:
        self.db.execute("BEGIN")
        try:
            for sql, rows in batch:
                if rows:
                    self.db.executemany(sql, rows)
            self.db.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run a read; on failure switch to memory (and read nothing)."""
        try:
            return [tuple(map(from_db, row)) for row in self.db.execute(sql, tuple(map(to_db, args)))]
        except sqlite3.Error as exc:
            if not self.persistent:
                raise
            self.db = self._fallback(exc)
            return []

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

    def trim_history(self) -> None:
        """Keep the download history bounded."""
        self.write(
            "DELETE FROM downloads WHERE ts < (SELECT ts FROM downloads ORDER BY ts DESC LIMIT 1 OFFSET ?)",
            [(HISTORY_LIMIT,)],
        )

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()


def _params(rows: Iterable[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """SQL parameter rows, each value through `to_db`."""
    return [tuple(map(to_db, row)) for row in rows]


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a ledger written by an older version up to this schema (columns added since)."""
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(artifacts)")}
    if "stamp" not in columns:
        db.execute("ALTER TABLE artifacts ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0")
