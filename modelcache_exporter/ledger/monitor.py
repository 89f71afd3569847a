"""The download ledger's worker thread: listens to the index and the log monitor (on their threads it only
queues), then on its own thread applies what was queued to the syncing it holds (`sync.LedgerSync`) and
ticks: models unreadable earlier, partial downloads, required models, the published counters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.quiet import pause
from modelcache_exporter.index.root import RootRef
from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.forecast import MIN_BYTES, MIN_SECONDS, SAMPLES, Forecast, forecast, throughput
from modelcache_exporter.ledger.partials import locks_held, read_proc_locks, stalled
from modelcache_exporter.ledger.required import Requirement, Status, evaluate
from modelcache_exporter.ledger.settings import LedgerSettings
from modelcache_exporter.ledger.startgate import StartGate
from modelcache_exporter.ledger.stats import Counters
from modelcache_exporter.ledger.store import Store
from modelcache_exporter.ledger.sync import LedgerSync
from modelcache_exporter.logs.events import LogEvent
from modelcache_exporter.scan.model import Model

log = logging.getLogger(__name__)
#: Retries of a model that cannot be read: the first on the next tick, then after 1 s, 2 s, 4 s... at most 5 min
#: apart (a model that stays unreadable, e.g. a folder chain deeper than PATH_MAX, must not cost a core).
RETRY_FIRST, RETRY_MAX = 1.0, 300.0
#: How often a held ledger looks whether the index's first link pass is over.
GATED_POLL = 0.2


class Ledger(threading.Thread):
    """Background worker holding the ledger's syncing (`sync`); the collector reads `counters` and `required`."""

    def __init__(
        self,
        path: str,
        states: Callable[[], tuple[RootState, ...]],
        requirements: tuple[Requirement, ...],
        settings: LedgerSettings,
        procfs: str = "/proc",
        load_seconds: Callable[[], float | None] = lambda: None,
    ) -> None:
        super().__init__(name="ledger", daemon=True)
        self.sync = LedgerSync(path, states, settings)
        self.states, self.settings = states, settings
        self.requirements, self.procfs = requirements, procfs
        self.required: tuple[Status, ...] = ()
        #: what the next start would cost (`forecast`), published whole after each evaluation of the required models
        self.forecast = Forecast()
        self.load_seconds = load_seconds  # the web UI's last load duration (the log monitor's snapshot)
        self._log_rates: deque[tuple[float, int, float]] = deque(maxlen=SAMPLES)
        self._cond = threading.Condition()
        self._queue: deque[tuple[str, RootRef, str, Model | None, bool]] = deque()
        self._logs: deque[LogEvent] = deque()
        self._halt = threading.Event()
        self._gate = StartGate()
        self._next_required = 0.0
        #: models the index listed in its first scan of each root since it (re)appeared
        self._listed: dict[str, set[str]] = {}
        #: unreadable models: (monotonic time of the next retry, delay after that one)
        self._backoff: dict[tuple[RootRef, str], tuple[float, float]] = {}

    @property
    def counters(self) -> Counters:
        """The ledger's counters; scrapes read their published `snapshot`."""
        return self.sync.counters

    @property
    def store(self) -> Store:
        """The ledger's database."""
        return self.sync.store

    @property
    def _unread(self) -> dict[tuple[RootRef, str], tuple[Model | None, bool]]:
        """The models waiting for a retry (tests look at them)."""
        return self.sync.unread

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
    def start(self) -> None:
        """Start the thread, with a log line saying where the ledger is (and whether it is on disk)."""
        log.info("download ledger", extra=kv(path=self.store.path, persistent=self.store.persistent))
        super().start()

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
            if not self._halt.is_set() and not self._open():
                self._halt.wait(GATED_POLL)  # a big root's first link pass comes first: all stays queued
                continue
            with self._cond:
                batch, logs = list(self._queue), list(self._logs)
                self._queue.clear()
                self._logs.clear()
            try:
                for item in batch:
                    pause()  # a model's sync is up to ~20 ms of Python: not while a scrape is served or due
                    self._handle(*item)
                for event in logs:
                    self.sync.from_log(event)
                    if event.seconds and event.bytes_total:  # a progress bar's elapsed time: a rate
                        self._log_rates.append((event.time, event.bytes_total, event.seconds))
                self._tick(time.time())
                self.sync.flush_logs()
            except Exception:  # the ledger must never take the exporter down
                log.exception("ledger step failed")
            if self._halt.is_set() and not self._queue:
                self.sync.reader.close()
                self.store.close()
                return

    def _open(self) -> bool:
        """Whether the ledger may read the cache yet (`startgate`); says once how long it waited."""
        if self._gate.opened_after is not None:
            return True
        if not self._gate.open(self.states()):
            return False
        if self._gate.opened_after and self._gate.opened_after >= 1.0:
            log.info(
                "download ledger reads the cache now that its sizes are exact",
                extra=kv(waited_seconds=round(self._gate.opened_after, 1)),
            )
        return True

    def _handle(self, kind: str, ref: RootRef, key: str, model: Model | None, initial: bool) -> None:
        if kind == "model":
            if initial:
                self._listed.setdefault(ref.name, set()).add(key)
            self.sync.sync_model(ref, key, model, initial)
        elif kind in ("indexed", "missing"):
            self.sync.root_scanned(ref, self._listed.pop(ref.name, set()))
        elif kind == "lost":
            self._listed.pop(ref.name, None)
        self._next_required = 0.0

    def _retry_unread(self, now: float) -> None:
        """Sync again the unreadable models whose retry is due; each failure doubles the wait (capped)."""
        waiting = self.sync.unread
        for gone in set(self._backoff) - set(waiting):  # read since (a retry or an index change)
            del self._backoff[gone]
        tried = {}
        for item, (model, _seeding) in waiting.items():
            due, delay = self._backoff.get(item, (now, RETRY_FIRST))
            if now >= due:
                self.sync.sync_model(item[0], item[1], model, initial=False)
                tried[item] = delay
        still = self.sync.unread
        for item, delay in tried.items():
            if item in still:
                self._backoff[item] = (now + delay, min(RETRY_MAX, delay * 2))

    def _forecast(self, states: tuple[RootState, ...]) -> None:
        """Publish what the next start would cost, from the ledger (the last load duration is kept in it too, so
        that it survives a restart of the exporter)."""
        load = self.load_seconds()
        if load is not None and load != self.forecast.load_seconds:
            self.store.mark_load(load)
        samples = [*self.store.timed_downloads(MIN_BYTES, SAMPLES, MIN_SECONDS), *self._log_rates]
        rate = throughput(samples, self.settings.default_throughput)
        pairs = tuple(zip(self.requirements, self.required, strict=True))
        self.forecast = forecast(pairs, states, self.store, rate, load if load is not None else self.store.last_load())

    def _tick(self, now: float) -> None:
        states = self.states()
        self.store.maintain(now, self.settings.state_check, self.settings.state_retry)
        self.sync.recover(states)
        self._retry_unread(time.monotonic())
        self.sync.reader.tick()
        partials = self.sync.partials
        partials.update(states, now)
        held = read_proc_locks(self.procfs)
        for s in states:
            self.counters.set_progress(
                s.name,
                len(s.incomplete),
                stalled(s, self.settings.stall_after, now),
                locks_held(s, held) if s.incomplete or s.layout == "hf-local-dir" else 0,
                partials.started.get(s.name, 0),
            )
        if now >= self._next_required:
            self.required = tuple(evaluate(r, states) for r in self.requirements)
            self._next_required = now + self.settings.required_interval
            self._forecast(states)
        elif self.load_seconds() not in (None, self.forecast.load_seconds):
            self._forecast(states)
        self.counters.persistent = self.store.persistent
        self.counters.errors = dict(self.store.errors)
        self.counters.publish()
