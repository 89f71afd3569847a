"""The download ledger's bookkeeping, held and run by the ledger's thread (`monitor.Ledger`): syncs each changed model
against the store, classifies arrivals, counts removals and wipes, records what the log reports.

The first scan of a root the ledger has never seen only records what is there (nothing is counted);
after that, every arrival is a download: `first`, `new_revision` or `redownload`. A model that cannot
be read during that first scan is recorded, not counted, once it can be read.

The filesystem is the authority. Downloads the web UI's log reports are classified only while the
sidecar has seen none of its cache roots since it started (the volume is not shared with it): then
each finished download of the log is an artifact `repo/file` of the pseudo-root `log:<source>`, and a
download read from the log's backlog at first sight is recorded, not counted. So a download seen in
both is counted once, and a backlog never pages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from modelcache_exporter.base import quiet
from modelcache_exporter.base.log import kv
from modelcache_exporter.index.root import RootRef
from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.artifacts import Listing, list_artifacts
from modelcache_exporter.ledger.classify import RETURNED, SYNCED, Arrival, copied_verdict, diff
from modelcache_exporter.ledger.eventlog import Removals, log_downloads
from modelcache_exporter.ledger.files import FileOf, files_of, linked_files
from modelcache_exporter.ledger.identity import FileId
from modelcache_exporter.ledger.partials import Partials
from modelcache_exporter.ledger.reader import Reader, sizes_of
from modelcache_exporter.ledger.records import UPSERT, artifact_row, repo_of
from modelcache_exporter.ledger.settings import LedgerSettings
from modelcache_exporter.ledger.stats import RECENT, Counters, Recent
from modelcache_exporter.ledger.store import Store
from modelcache_exporter.logs.events import LogEvent
from modelcache_exporter.scan.model import Model

log = logging.getLogger(__name__)


class LedgerSync:
    """The ledger's store and counters, and the syncing that keeps them in step with the disk and the log."""

    def __init__(
        self,
        path: str,
        states: Callable[[], tuple[RootState, ...]],
        settings: LedgerSettings,
        reader: Reader | None = None,
    ) -> None:
        self.store = Store(path)
        #: where a model's files are read (a big one in a worker process)
        self.reader = reader or Reader()
        self.states, self.settings = states, settings
        self.counters = Counters()
        self.partials = Partials()
        #: the models removed, logged at the end of each batch of the ledger (`flush_logs`)
        self.removals = Removals()
        self._seeding: dict[str, bool] = {}
        #: models that could not be read when they changed: (model, seeding), synced again every tick
        self._unread: dict[tuple[RootRef, str], tuple[Model | None, bool]] = {}
        self._seen_roots = False  # a cache root was present at some point: the log never classifies again

    @property
    def unread(self) -> dict[tuple[RootRef, str], tuple[Model | None, bool]]:
        """The models that could not be read when they changed and wait for `retry_unread` (a copy)."""
        return dict(self._unread)

    def root_scanned(self, ref: RootRef, listed: set[str]) -> None:
        """The index's first look at a root is done (it was listed, or found missing): a first scan only
        recorded, from now on arrivals count. Models recorded present that this look did not `list` went
        away while nobody watched (the exporter was down, the volume was replaced): removed now, so a wipe
        counts."""
        self._root_seeding(ref, initial=True)
        if self._seeding.pop(ref.name, False):
            self.store.mark_seeded(ref.name)
            self.counters.set_present(ref.name, *self.store.present_bytes(ref.name))
        for key in sorted(self.store.present_models(ref.name) - listed):
            self.sync_model(ref, key, None, initial=False)

    def retry_unread(self) -> None:
        """Sync again the models that could not be read (each keeps the verdict mode of its first try)."""
        for (ref, key), (model, _seeding) in list(self._unread.items()):
            self.sync_model(ref, key, model, initial=False)

    def recover(self, states: tuple[RootState, ...]) -> None:
        """When the database failed and its content is gone, re-record what the roots hold, counting nothing."""
        if self.store.lost_state:
            self.store.lost_state = False
            self._reseed(states)

    def _root_seeding(self, ref: RootRef, initial: bool) -> bool:
        """Whether syncs of this root now only record (its first scan, never seen before); on first sight
        of the root, its counters start from the ledger's history."""
        if ref.name not in self._seeding:
            self._seeding[ref.name] = initial and not self.store.seeded(ref.name)
            self.counters.set_present(ref.name, *self.store.present_bytes(ref.name))
            for repo in sorted(set(self.store.repos(ref.name).values())):
                self.counters.track(ref.name, repo)
            recent = [Recent(*row) for row in self.store.recent(ref.name, RECENT)]
            self.counters.remember(
                ref.name, self.store.last_redownloads(ref.name), self.store.last_wipe(ref.name), recent
            )
        return self._seeding[ref.name]

    def sync_model(self, ref: RootRef, key: str, model: Model | None, initial: bool) -> None:
        """Sync a model; one that cannot be read now is kept as last recorded and tried again each tick
        (with the verdict mode of its first try: unreadable during the first scan, it is only recorded)."""
        retry = self._unread.get((ref, key))
        seeding = retry[1] if retry is not None else self._root_seeding(ref, initial)
        try:
            self._sync(ref, key, model, seeding)
        except OSError as exc:
            if retry is None:
                log.warning(
                    "cannot list a model's files; the ledger keeps it as last seen and retries",
                    extra=kv(root=ref.name, key=key, error=exc.strerror or str(exc)),
                )
            self._unread[(ref, key)] = (model, seeding)
            return
        if self._unread.pop((ref, key), None) is not None:
            log.info("model readable again; ledger synced", extra=kv(root=ref.name, key=key))

    def _sync(self, ref: RootRef, key: str, model: Model | None, seeding: bool) -> None:
        """Compare one model on disk with the ledger; record (and unless seeding, count) the difference."""
        big = model.files if model is not None else 0
        current = self.reader.run(big, list_artifacts, ref.path, ref.layout, key)
        rows = self.store.rows(ref.name, key)
        revs = {r.commit for r in model.revisions} if model and ref.layout == "hf-hub" else set()
        revs |= {seen.revision for seen in current.values() if seen.revision}
        known = self.store.commits(ref.name, key)
        d = diff(current, rows, known, revs, ref.layout)
        now = time.time()
        arrivals = []
        sizes = self.reader.run(len(d.arrived), sizes_of, ref.path, ref.layout, key, [i for i, _ in d.arrived])
        for i, ((ident, reason), size) in enumerate(zip(d.arrived, sizes, strict=True), 1):
            if not i % quiet.EVERY:
                quiet.pause()  # a big model's first recording is thousands of these: not while a scrape is due
            seen = current[ident]
            seconds, rsync = (
                self.partials.finished(ref.name, key, seen.hint, now) if reason != RETURNED else (None, False)
            )
            if rsync:  # its rsync temporary file was seen: a copy, whatever its mtime (rsync without -t)
                reason, seconds = SYNCED, None
            reason = copied_verdict(reason, seen.mtime, seen.file.stamp / 1e9, seconds, now)
            replaced = ident in rows and rows[ident].present
            arrivals.append(Arrival(ident, reason, size, seconds, current[ident].file, replaced))
        removed = [(ident, rows[ident].size) for ident in d.removed]
        stamps: list[tuple[object, ...]] = [(current[i].file.stamp, ref.name, key, i) for i in d.unstamped]
        repo = model.repo_id if model else repo_of(key, ref.layout)
        # files are read when the model gained an artifact or a revision, or was recorded before the ledger kept them
        mapped = not (d.arrived or revs - known or (current and not self.store.has_files(ref.name, key)))
        files = [] if mapped else self._files(ref, key, big, current)
        self._record(ref, key, repo, (arrivals, removed, stamps, files), revs, seeding, now, whole=not current)

    def _files(self, ref: RootRef, key: str, big: int, current: Listing) -> list[FileOf]:
        """The model's files by revision: a hub model's snapshot links are read (in the worker for a big one);
        other layouts' come from the listing."""
        if ref.layout != "hf-hub":
            return files_of(ref.path, ref.layout, key, current)
        return self.reader.run(big, linked_files, ref.path, key, frozenset(current))

    def _record(
        self,
        ref: RootRef,
        key: str,
        repo: str,
        changes: tuple[list[Arrival], list[tuple[str, int]], list[tuple[object, ...]], list[FileOf]],
        revs: set[str],
        seeding: bool,
        now: float,
        whole: bool = False,
    ) -> None:
        """Write one model's changes and count them; `whole`: nothing of the model is left on disk."""
        arrivals, removed, stamps, files = changes
        downloads = [a for a in arrivals if a.reason != RETURNED and not seeding]
        self.store.transaction(
            [
                (UPSERT, [artifact_row(ref.name, key, a, now, seeding) for a in arrivals]),
                (
                    "UPDATE artifacts SET present=0, last_seen=? WHERE root=? AND model=? AND ident=?",
                    [(now, ref.name, key, ident) for ident, _size in removed],
                ),
                ("UPDATE artifacts SET stamp=? WHERE root=? AND model=? AND ident=?", stamps),
                ("INSERT OR IGNORE INTO commits VALUES (?,?,?,?)", [(ref.name, key, rev, now) for rev in revs]),
                ("INSERT OR REPLACE INTO models VALUES (?,?,?)", [(ref.name, key, repo)] if arrivals else []),
                ("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?)", [(ref.name, key, *f, now) for f in files]),
                (
                    "INSERT INTO downloads VALUES (?,?,?,?,?,?,?,?)",
                    [(now, ref.name, key, repo, a.ident, a.reason, a.size, a.seconds) for a in downloads],
                ),
            ]
        )
        wipes = self.counters.root(ref.name).wipes
        self.counters.track(ref.name, repo)
        self.counters.apply(ref.name, repo, arrivals, removed, seeding, now, self.settings)
        if self.counters.root(ref.name).wipes != wipes:
            self.store.mark_wipe(ref.name, now)
            log.warning("cache root wiped: it lost most of its bytes at once", extra=kv(root=ref.name))
        log_downloads(ref.name, repo, downloads)
        self.removals.removed(ref.name, repo, [size for _ident, size in removed], whole)

    def flush_logs(self) -> None:
        """Log the models removed since the last call (the end of a batch of the ledger's thread)."""
        self.removals.flush()

    def from_log(self, ev: LogEvent) -> None:
        """Classify a download the log reports, when the filesystem cannot: no cache root has been seen.
        A backlog line (read at first sight, untimed) is recorded, not counted."""
        states = self.states()
        self._seen_roots = self._seen_roots or any(s.present for s in states)
        if self._seen_roots or not all(s.ready for s in states):
            return
        ref = RootRef(f"log:{ev.log or 'log'}", "", "log")
        model, ident = ev.repo or "(unknown)", ev.file or "(unknown)"
        rows = self.store.rows(ref.name, model)
        reason = "redownload" if ident in rows else "first"
        arrival = Arrival(ident, reason, ev.bytes_total or 0, ev.seconds, FileId(0, 0), replaced=ident in rows)
        self._root_seeding(ref, initial=False)
        self._record(ref, model, model, ([arrival], [], [], []), set(), not ev.timed, ev.time)

    def _reseed(self, states: tuple[RootState, ...]) -> None:
        log.warning("re-recording the cache content in the in-memory ledger (nothing is counted)")
        for s in states:
            self._seeding[s.name] = True
            self.counters.set_present(s.name, 0, 0)
            ref = RootRef(s.name, s.path, s.layout)
            for m in s.models:
                self.sync_model(ref, m.key, m, initial=True)
            self.store.mark_seeded(s.name)
            self._seeding.pop(s.name, None)
