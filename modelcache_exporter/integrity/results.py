"""Verdicts remembered by file identity, so that a restart re-hashes nothing that did not change.

A file's identity is (path, inode, size, mtime, ctime): any write, truncation, `touch`, `chmod` or
replacement changes one of them, and the file is hashed again. Kept in a small SQLite file in the state
directory; if it cannot be opened or written, verdicts are kept in memory (one log line) and the pass goes on.
"""

from __future__ import annotations

import logging
import os
import sqlite3

log = logging.getLogger(__name__)
SCHEMA = """CREATE TABLE IF NOT EXISTS verdicts (
    path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
    algo TEXT, expected TEXT, ok INTEGER, checked REAL)"""

Identity = tuple[int, int, int, int]


def identity(st: os.stat_result) -> Identity:
    """(inode, size, mtime ns, ctime ns) of a stat result."""
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class Verdicts:
    """path -> (identity, expected hash, ok) in `path` (SQLite), else (or with `path` "") in memory."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._memory: dict[str, tuple[Identity, str, bool]] = {}
        self._db: sqlite3.Connection | None = None
        if not path:
            return
        try:
            self._db = sqlite3.connect(path, timeout=5)
            self._db.execute(SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            log.warning("verification results kept in memory only: %s", exc)
            self._db = None

    def get(self, path: str, ident: Identity, expected: str) -> bool | None:
        """The verdict on the file at `path` if it was hashed with this identity against `expected`."""
        if self._db is not None:
            try:
                row = self._db.execute(
                    "SELECT inode, size, mtime_ns, ctime_ns, expected, ok FROM verdicts WHERE path = ?", (path,)
                ).fetchone()
            except sqlite3.Error:
                row = None
            if row is not None and tuple(row[:4]) == ident and row[4] == expected:
                return bool(row[5])
        hit = self._memory.get(path)
        return hit[2] if hit is not None and hit[0] == ident and hit[1] == expected else None

    def put(self, path: str, ident: Identity, algo: str, expected: str, ok: bool, now: float) -> None:
        """Remember a verdict (in memory when the file cannot be written)."""
        self._memory[path] = (ident, expected, ok)
        if self._db is None:
            return
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (path, *ident, algo, expected, int(ok), now),
            )
        except sqlite3.Error as exc:
            log.warning("cannot record a verification result (%s); kept in memory", exc)
            self._db = None

    def commit(self) -> None:
        """Write what was recorded."""
        if self._db is not None:
            try:
                self._db.commit()
            except sqlite3.Error:
                self._db = None

    def close(self) -> None:
        """Commit and close."""
        self.commit()
        if self._db is not None:
            self._db.close()
            self._db = None
