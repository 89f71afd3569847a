"""The ledger's database connection, kept usable whatever happens to its file (see `store` for what it holds).

A missing, corrupt, locked or read-only database is reported (log line, `modelcache_ledger_persistent 0`, an
error count by kind) and the ledger carries on in memory: with the file's history when it can be read (a
read-only state directory), and written back to the file once it works again (tried with a backoff, see
`Database.maintain`). A state directory or file deleted or replaced while running is found by its inodes
(counted as `open`): the ledger goes to memory, then writes itself back into a new file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable

from modelcache_exporter.base import quiet
from modelcache_exporter.base.log import kv
from modelcache_exporter.base.names import from_db, to_db
from modelcache_exporter.ledger import storefile
from modelcache_exporter.ledger.storefile import SCHEMA, Backoff, migrate

log = logging.getLogger(__name__)
ERROR_KINDS = ("open", "corrupt", "locked", "readonly", "write")


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


class Database:
    """SQLite access; falls back to an in-memory database on any failure, and back to the file when it works."""

    def __init__(self, path: str, read_only: bool = False) -> None:
        """`read_only`: a copy of the file in memory, for readers that must write nothing (`check`); the file is
        never opened for writing, and nothing is ever written back to it."""
        self.path = path
        self.errors: Counter[str] = Counter()
        self.persistent = False
        self.lost_state = False  # set when a fallback could not carry the ledger's content over
        self.held = False  # in memory: everything the file held is held too (so it may be written back)
        self.identity: storefile.Identity | None = None
        self.retry = Backoff()
        self._next_check = 0.0
        self.db = self._copy_of_file() if read_only else self._open()

    def _copy_of_file(self) -> sqlite3.Connection:
        db = storefile.memory()
        if not storefile.copy_read_only(self.path, db):
            self.errors["open"] += 1
        db.executescript(SCHEMA)
        migrate(db)
        return db

    def _open(self) -> sqlite3.Connection:
        try:
            db = storefile.open_file(self.path)
        except (sqlite3.Error, OSError) as exc:
            return self._fallback(exc)
        self.persistent, self.identity = True, storefile.identity(self.path)
        return db

    def _fallback(self, exc: sqlite3.Error | OSError, kind: str = "") -> sqlite3.Connection:
        """Switch to an in-memory database, copying what the failed one holds when it can be read (at start:
        the file, read without writing)."""
        if not kind:
            kind = classify_error(exc)
            if kind == "open" and not os.access(os.path.dirname(self.path) or ".", os.W_OK):
                kind = "readonly"
        self.errors[kind] += 1
        db, old = storefile.memory(), getattr(self, "db", None)
        copied = self._copy(old, db)
        log.error(
            "download ledger unusable (%s: %s); %s",
            kind,
            exc,
            _consequence(copied and old is None, self.held),
            extra=kv(path=self.path),
        )
        db.executescript(SCHEMA)
        migrate(db)
        self.persistent, self.retry = False, Backoff()
        return db

    def _copy(self, old: sqlite3.Connection | None, db: sqlite3.Connection) -> bool:
        """Copy the failed database (at start: the file, read-only) into `db`; whether it worked. Sets `held`:
        whether memory now holds all the file holds (only then may it be written back to the file)."""
        if old is None:
            copied = storefile.copy_read_only(self.path, db)
            self.held = copied or not storefile.unread_file(self.path)
            return copied
        try:
            old.backup(db)
            self.held = True
        except sqlite3.Error:
            self.lost_state, self.held = True, False
        with contextlib.suppress(sqlite3.Error):
            old.close()
        return self.held

    def maintain(self, now: float, check_every: float, retry_every: float) -> None:
        """Called by the ledger's thread: on disk, check every `check_every` seconds that the file is still
        the one opened; in memory, try the file again (after `retry_every` seconds, then backing off)."""
        if self.persistent:
            if now >= self._next_check:
                self._next_check = now + check_every
                if storefile.identity(self.path) != self.identity:
                    gone = FileNotFoundError(f"state directory or {os.path.basename(self.path)} deleted or replaced")
                    self.db = self._fallback(gone, "open")
        elif self.held and self.retry.ready(now, retry_every):
            self._write_back(now, retry_every)

    def _write_back(self, now: float, retry_every: float) -> None:
        try:
            db = storefile.write_back(self.db, self.path)
        except (sqlite3.Error, OSError) as exc:
            self.retry.failed(now, retry_every)
            log.debug("download ledger still unusable: %s", exc, extra=kv(path=self.path))
            return
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        self.db, self.persistent, self.identity = db, True, storefile.identity(self.path)
        self._next_check = now
        log.warning("download ledger usable again; what was kept in memory is written to it", extra=kv(path=self.path))

    def write(self, sql: str, rows: Iterable[tuple[object, ...]] = ((),)) -> None:
        """Run a write; on failure switch to memory (the write is retried there)."""
        params = _params(rows)
        try:
            self.db.executemany(sql, params)
        except sqlite3.Error as exc:
            if not self.persistent:
                raise
            self.db = self._fallback(exc)
            self.db.executemany(sql, params)

    def transaction(self, writes: Iterable[tuple[str, Iterable[tuple[object, ...]]]]) -> None:
        """Several writes in one transaction (one fsync); on failure, retried in memory."""
        batch = [(sql, list(rows)) for sql, rows in writes]
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
                    self._many(sql, rows)
            self.db.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise

    def _many(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        """One statement over `rows`, bound as they are; when a value is a name that is not text (sqlite cannot
        bind it), what it wrote is undone and every value goes through `to_db`. The common case then costs no
        Python per value (a first start records a row per file: a million rows). Rows are written `quiet.EVERY`
        at a time, pausing between (`quiet.pause`: not while a scrape is served or due)."""
        self.db.execute("SAVEPOINT rows")
        try:
            self._chunked(sql, rows)
        except UnicodeEncodeError:
            self.db.execute("ROLLBACK TO rows")
            self._chunked(sql, _params(rows))
        self.db.execute("RELEASE rows")

    def _chunked(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        for start in range(0, len(rows), quiet.EVERY):
            if start:
                quiet.pause()
            self.db.executemany(sql, rows[start : start + quiet.EVERY])

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run a read; on failure switch to memory (and read nothing)."""
        try:
            return [tuple(map(from_db, row)) for row in self.db.execute(sql, tuple(map(to_db, args)))]
        except sqlite3.Error as exc:
            if not self.persistent:
                raise
            self.db = self._fallback(exc)
            return []

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()


def _consequence(history: bool, held: bool) -> str:
    """What a fallback means, for its log line: whether the file's `history` was read at start, whether memory
    `held` all of it (then it is written back to the file when the file works again)."""
    if history:
        return (
            "its history is read from the file and used; new downloads are kept in memory and written to the file "
            "once it is writable (retried) - until then they will not survive a restart"
        )
    if held:
        return (
            "keeping it in memory, written back to the file once it works again (retried) - until then "
            "re-download verdicts will not survive a restart"
        )
    return (
        "keeping it in memory until restart, the file left as it is - re-download verdicts will not survive a restart"
    )


def _params(rows: Iterable[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """SQL parameter rows, each value through `to_db` (a name that is not UTF-8 is stored as its bytes)."""
    return [tuple(map(to_db, row)) for row in rows]
