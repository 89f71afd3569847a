"""The download ledger's worker thread: listens to the index and the log monitor (on their threads it only
queues), then on its own thread applies what was queued (the syncing itself is `sync.LedgerSync`) and ticks:
models unreadable earlier, partial downloads, required models, the published counters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from modelcache_exporter.index.root import RootRef
from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.partials import locks_held, read_proc_locks, stalled
from modelcache_exporter.ledger.required import Requirement, Status, evaluate
from modelcache_exporter.ledger.sync import LedgerSync
from modelcache_exporter.logs.events import LogEvent
from modelcache_exporter.scan.model import Model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerSettings:
    """Tuning of the ledger."""

    stall_after: float = 300.0
    wipe_ratio: float = 0.5
    wipe_window: float = 60.0
    required_interval: float = 30.0
    tick: float = 1.0


class Ledger(threading.Thread, LedgerSync):
    """Background worker; the collector reads `counters` and `required`."""

    def __init__(
        self,
        path: str,
        states: Callable[[], tuple[RootState, ...]],
        requirements: tuple[Requirement, ...],
        settings: LedgerSettings,
        procfs: str = "/proc",
    ) -> None:
        threading.Thread.__init__(self, name="ledger", daemon=True)
        LedgerSync.__init__(self, path, states, settings)
        self.requirements, self.procfs = requirements, procfs
        self.required: tuple[Status, ...] = ()
        self._cond = threading.Condition()
        self._queue: deque[tuple[str, RootRef, str, Model | None, bool]] = deque()
        self._logs: deque[LogEvent] = deque()
        self._halt = threading.Event()
        self._next_required = 0.0
        #: models the index listed in its first scan of each root since it (re)appeared
        self._listed: dict[str, set[str]] = {}

    # -- index listener (called on index threads: only queue) ---------------------------------
    def model_changed(self, ref: RootRef, key: str, old: Model | None, new: Model | None, initial: bool) -> None:
        with self._cond:
            self._queue.append(("model", ref, key, new or old, initial))
            self._cond.notify()

    def root_event(self, ref: RootRef, event: str) -> None:
        with self._cond:
            self._queue.append((event, ref, "", None, False))
            self._cond.notify()

    # -- log monitor listener ------------------------------------------------------------------
    def log_event(self, event: LogEvent) -> None:
        """A `download_finished` from the web UI's log (queued; used when no root is visible)."""
        with self._cond:
            self._logs.append(event)
            self._cond.notify()

    # -- thread --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Finish the queued work, then stop."""
        self._halt.set()
        with self._cond:
            self._cond.notify()

    def run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._halt.is_set():
                    self._cond.wait(self.settings.tick)
                batch, logs = list(self._queue), list(self._logs)
                self._queue.clear()
                self._logs.clear()
            try:
                for item in batch:
                    self._handle(*item)
                for event in logs:
                    self._from_log(event)
                self._tick(time.time())
            except Exception:  # the ledger must never take the exporter down
                log.exception("ledger step failed")
            if self._halt.is_set() and not self._queue:
                self.store.close()
                return

    def _handle(self, kind: str, ref: RootRef, key: str, model: Model | None, initial: bool) -> None:
        if kind == "model":
            if initial:
                self._listed.setdefault(ref.name, set()).add(key)
            self._sync_or_retry(ref, key, model, initial)
        elif kind in ("indexed", "missing"):
            self._root_seeding(ref, initial=True)
            if self._seeding.pop(ref.name, False):
                self.store.mark_seeded(ref.name)
                self.counters.set_present(ref.name, *self.store.present_bytes(ref.name))
            self._gone_unseen(ref, self._listed.pop(ref.name, set()))
        elif kind == "lost":
            self._listed.pop(ref.name, None)
        self._next_required = 0.0

    def _gone_unseen(self, ref: RootRef, listed: set[str]) -> None:
        """Models recorded present that the index's first look at the root did not list went away while
        nobody watched (the exporter was down, the volume was replaced): removed now, so a wipe counts."""
        for key in sorted(self.store.present_models(ref.name) - listed):
            self._sync_or_retry(ref, key, None, initial=False)

    def _tick(self, now: float) -> None:
        states = self.states()
        if self.store.lost_state:  # the database failed and its content is gone: re-record without counting
            self.store.lost_state = False
            self._reseed(states)
        for (ref, key), (model, _seeding) in list(self._unread.items()):
            self._sync_or_retry(ref, key, model, initial=False)  # the retry keeps its first verdict mode
        self.partials.update(states, now)
        held = read_proc_locks(self.procfs)
        for s in states:
            self.counters.set_progress(
                s.name,
                len(s.incomplete),
                stalled(s, self.settings.stall_after, now),
                locks_held(s, held) if s.incomplete or s.layout == "hf-local-dir" else 0,
                self.partials.started.get(s.name, 0),
            )
        if self.requirements and now >= self._next_required:
            self.required = tuple(evaluate(r, states) for r in self.requirements)
            self._next_required = now + self.settings.required_interval
        self.counters.persistent = self.store.persistent
        self.counters.errors = dict(self.store.errors)
        self.counters.publish()
