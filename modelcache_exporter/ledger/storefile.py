"""The ledger's database file, as `store.Store` uses it: opened read-write; read once without writing (a read-only
state directory still gives its history); written back from memory when it works again; recognised by its
inodes (the state directory or the file deleted or replaced while the exporter runs); retried with a backoff.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass

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
CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL, model TEXT NOT NULL, rev TEXT NOT NULL, path TEXT NOT NULL, ident TEXT NOT NULL,
    seen REAL NOT NULL, PRIMARY KEY (root, model, rev, path)) WITHOUT ROWID;
"""
#: (device, inode) of the state directory, then of the database file
Identity = tuple[int, int, int, int]


def migrate(db: sqlite3.Connection) -> None:
    """Bring a ledger written by an older version up to this schema (columns added since)."""
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(artifacts)")}
    if "stamp" not in columns:
        db.execute("ALTER TABLE artifacts ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0")


def open_file(path: str) -> sqlite3.Connection:
    """Open (creating the folder and the schema) the database for writing; raises what fails."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    db = sqlite3.connect(path, timeout=2.0, check_same_thread=False, isolation_level=None)
    try:
        db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" + SCHEMA)
        migrate(db)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('opened', ?)", (str(time.time()),))
    except sqlite3.Error:
        db.close()
        raise
    return db


def memory() -> sqlite3.Connection:
    """An empty in-memory database (the schema is added once whatever is copied into it is there)."""
    return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)


def copy_read_only(path: str, into: sqlite3.Connection) -> bool:
    """Copy the database file into `into` without writing anything next to it; whether it could be read.
    Read-only first (its write-ahead log included); a folder where not even the log's index can be created is
    read as immutable (what a write-ahead log left by a crash holds is then not seen)."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path))
    for mode in ("mode=ro", "immutable=1"):
        try:
            src = sqlite3.connect(f"{uri}?{mode}", uri=True, timeout=2.0)
        except sqlite3.Error:
            continue
        try:
            src.backup(into)
            return True
        except sqlite3.Error:
            continue
        finally:
            src.close()
    return False


def write_back(held: sqlite3.Connection, path: str) -> sqlite3.Connection:
    """Open the file again and replace its content with what `held` (the in-memory ledger) holds: the open
    connection, or raises what fails (the file is then as it was: a backup is one transaction)."""
    db = open_file(path)
    try:
        db.execute("PRAGMA journal_mode=DELETE")  # a backup into a WAL database needs equal page sizes
        held.backup(db)
        db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            db.close()
        raise
    return db


def identity(path: str) -> Identity | None:
    """The state directory's and the database file's (device, inode); None when either is gone."""
    try:
        folder, file = os.stat(os.path.dirname(path) or "."), os.stat(path)
    except OSError:
        return None
    return folder.st_dev, folder.st_ino, file.st_dev, file.st_ino


def unread_file(path: str) -> bool:
    """Whether a file is there whose content the ledger never read (so it must not be overwritten)."""
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


@dataclass
class Backoff:
    """When to try the database file again: `every` seconds after a failure, doubling up to `cap` times that."""

    due: float = 0.0  # 0: not scheduled yet
    failures: int = 0
    cap: int = 10

    def ready(self, now: float, every: float) -> bool:
        """Whether a try is due now (the first one comes one period after the first call)."""
        if not self.due:
            self.due = now + every
        return now >= self.due

    def failed(self, now: float, every: float) -> None:
        """A try failed: wait longer."""
        self.failures += 1
        self.due = now + every * min(2**self.failures, self.cap)
