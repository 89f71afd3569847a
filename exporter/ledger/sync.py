"""The download ledger's bookkeeping, run on the ledger's thread (`monitor.Ledger`): syncs each changed model
against the store, classifies arrivals, counts removals and wipes, records what the log reports.

The first scan of a root the ledger has never seen only records what is there (nothing is counted);
after that, every arrival is a download: `first`, `new_revision` or `redownload`.

The filesystem is the authority. Downloads the web UI's log reports are classified only when the
sidecar sees no cache root at all (the volume is not shared with it): then each finished download
of the log is an artifact `repo/file` of the pseudo-root `log:<source>`. So a download seen in both
is counted once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..index.root import RootRef
from ..index.state import RootState
from ..log import kv
from ..logs.events import LogEvent
from ..scan.model import Model
from .artifacts import artifact_size, list_artifacts
from .classify import Arrival, diff
from .partials import Partials
from .stats import Counters
from .store import Store

if TYPE_CHECKING:
    from .monitor import LedgerSettings

log = logging.getLogger(__name__)


class LedgerSync:
    """The ledger's store and counters, and the syncing that keeps them in step with the disk and the log."""

    def __init__(self, path: str, states: Callable[[], tuple[RootState, ...]], settings: LedgerSettings) -> None:
        self.store = Store(path)
        self.states, self.settings = states, settings
        self.counters = Counters()
        self.partials = Partials()
        self._seeding: dict[str, bool] = {}
        #: models that could not be read when they changed (root unreadable): synced again every tick
        self._unread: dict[tuple[RootRef, str], tuple[Model | None, bool]] = {}

    def _sync_or_retry(self, ref: RootRef, key: str, model: Model | None, initial: bool) -> None:
        """Sync a model; one that cannot be read now is kept as last recorded and tried again each tick."""
        try:
            self.sync(ref, key, model, initial)
        except OSError as exc:
            if (ref, key) not in self._unread:
                log.warning(
                    "cannot list a model's files; the ledger keeps it as last seen and retries",
                    extra=kv(root=ref.name, key=key, error=exc.strerror or str(exc)),
                )
            self._unread[(ref, key)] = (model, initial)
            return
        if self._unread.pop((ref, key), None) is not None:
            log.info("model readable again; ledger synced", extra=kv(root=ref.name, key=key))

    def sync(self, ref: RootRef, key: str, model: Model | None, initial: bool) -> None:
        """Compare one model on disk with the ledger; record and count the difference."""
        if ref.name not in self._seeding:
            self._seeding[ref.name] = initial and not self.store.seeded(ref.name)
            self.counters.set_present(ref.name, *self.store.present_bytes(ref.name))
        current = list_artifacts(ref.path, ref.layout, key)
        rows = self.store.rows(ref.name, key)
        revs = {r.commit for r in model.revisions} if model and ref.layout == "hf-hub" else set()
        revs |= {rev for _hint, rev, _ino in current.values() if rev}
        d = diff(current, rows, self.store.commits(ref.name, key), revs, ref.layout)
        now = time.time()
        repo = model.repo_id if model else key
        arrivals = []
        for ident, reason in d.arrived:
            size = artifact_size(ref.path, ref.layout, key, ident)
            seconds = self.partials.finished(ref.name, key, current[ident][0], now)
            replaced = ident in rows and rows[ident].present
            arrivals.append(Arrival(ident, reason, size, seconds, current[ident][2], replaced))
        removed = [(ident, rows[ident].size) for ident in d.removed]
        self._record(ref, key, repo, arrivals, removed, revs, now)

    def _record(
        self,
        ref: RootRef,
        key: str,
        repo: str,
        arrivals: list[Arrival],
        removed: list[tuple[str, int]],
        revs: set[str],
        now: float,
    ) -> None:
        seeding = self._seeding.get(ref.name, False)
        writes: list[tuple[str, list[tuple[object, ...]]]] = [
            (
                "INSERT INTO artifacts VALUES (?,?,?,?,?,?,?,1,?) ON CONFLICT(root, model, ident) DO UPDATE SET "
                "size=excluded.size, last_seen=excluded.last_seen, fetched=fetched+excluded.fetched, present=1, "
                "inode=excluded.inode",
                [(ref.name, key, a.ident, a.size, now, now, 0 if seeding else 1, a.inode) for a in arrivals],
            ),
            (
                "UPDATE artifacts SET present=0, last_seen=? WHERE root=? AND model=? AND ident=?",
                [(now, ref.name, key, ident) for ident, _size in removed],
            ),
            ("INSERT OR IGNORE INTO commits VALUES (?,?,?,?)", [(ref.name, key, rev, now) for rev in revs]),
        ]
        if not seeding:
            writes.append(
                (
                    "INSERT INTO downloads VALUES (?,?,?,?,?,?,?,?)",
                    [(now, ref.name, key, repo, a.ident, a.reason, a.size, a.seconds) for a in arrivals],
                )
            )
        self.store.transaction(writes)
        self.counters.apply(ref.name, repo, arrivals, removed, seeding, now, self.settings)
        if arrivals and not seeding:
            log.info(
                "downloads finished",
                extra=kv(
                    root=ref.name,
                    repo=repo,
                    count=len(arrivals),
                    reasons=",".join(sorted({a.reason for a in arrivals})),
                ),
            )

    def _from_log(self, ev: LogEvent) -> None:
        """Classify a download the log reports, when the filesystem cannot: no root is visible."""
        if any(s.present for s in self.states()):
            return
        ref = RootRef(f"log:{ev.log or 'log'}", "", "log")
        model, ident = ev.repo or "(unknown)", ev.file or "(unknown)"
        rows = self.store.rows(ref.name, model)
        reason = "redownload" if ident in rows else "first"
        arrival = Arrival(ident, reason, ev.bytes_total or 0, ev.seconds, 0, replaced=ident in rows)
        self._seeding[ref.name] = False
        self._record(ref, model, model, [arrival], [], set(), ev.time)

    def _reseed(self, states: tuple[RootState, ...]) -> None:
        log.warning("re-recording the cache content in the in-memory ledger (nothing is counted)")
        for s in states:
            self._seeding[s.name] = True
            self.counters.set_present(s.name, 0, 0)
            ref = RootRef(s.name, s.path, s.layout)
            for m in s.models:
                self._sync_or_retry(ref, m.key, m, initial=True)
            self.store.mark_seeded(s.name)
            self._seeding.pop(s.name, None)
