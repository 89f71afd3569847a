"""The state one root's worker keeps, and how it tells the world: published snapshots, listeners."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import replace

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.published import PUBLISHED
from modelcache_exporter.base.rootconfig import RootConfig
from modelcache_exporter.index.decide import LayoutDecision
from modelcache_exporter.index.events import EventQueue
from modelcache_exporter.index.linkpass import LinkPass
from modelcache_exporter.index.memory import LayoutMemory
from modelcache_exporter.index.reconciler import Reconciler
from modelcache_exporter.index.rootmodels import RootModels
from modelcache_exporter.index.schedule import Schedule
from modelcache_exporter.index.state import IndexStats, RootState, build_state
from modelcache_exporter.index.types import IndexSettings, Listener, RootRef
from modelcache_exporter.index.watch import Watcher, WatchLimitReached
from modelcache_exporter.index.watchset import ROOT, WatchSet
from modelcache_exporter.scan.model import Model

log = logging.getLogger(__name__)


class RootCore(threading.Thread):
    """The worker's state (mutated only on its thread) and its outputs; `root.RootIndex` is the worker.

    `index`: what the root's index holds (models, extras, signatures, layout ops, watches). `schedule`: the
    worker's jobs and when they are due. `links`: the link pass (where it reads); `reconciler`: a
    reconciliation's scan in a worker. `status`: the next snapshot's own fields (presence, layout, mode,
    problem...), which `publish` completes with the models and totals into `state`, the snapshot scrapes read.
    """

    def __init__(
        self,
        cfg: RootConfig,
        exclude: tuple[str, ...],
        settings: IndexSettings,
        watcher: Watcher | None,
        listeners: tuple[Listener, ...] = (),
        memory: LayoutMemory | None = None,
    ) -> None:
        super().__init__(name=f"index-{cfg.name}", daemon=True)
        self.cfg, self.exclude, self.settings, self.watcher = cfg, exclude, settings, watcher
        self.listeners = listeners
        self.stats = IndexStats()
        self.events = EventQueue()
        self._halt = threading.Event()
        self.index = RootModels()
        self.schedule = Schedule()
        self.links = LinkPass(cfg.path, cfg.name, settings.scan_workers, self.events.poke)
        self.reconciler = Reconciler(cfg.name, min(1, settings.scan_workers), self.events.poke, settings.reconcile)
        self.decision = LayoutDecision(cfg, exclude, memory or LayoutMemory())
        self.status = RootState(cfg.name, cfg.path, self.decision.layout, cfg.origin, self.decision.choice.source)
        self.state = self.status
        self._cold = True

    @property
    def _models(self) -> dict[str, Model]:
        """`index.models` (what tests look at)."""
        return self.index.models

    @property
    def _unverified(self) -> list[str]:
        """`index.unverified` (what tests look at)."""
        return self.index.unverified

    # -- outputs, used by the worker and its helpers (worker.py, upkeep.py) ----------------------------
    def record_scan(self, kind: str, t0: float) -> None:
        """Count a finished scan of `kind` (a pass of `state.PASSES`) begun at monotonic `t0`."""
        self.stats.scans[kind] += 1
        self.stats.scan_seconds[kind] = time.monotonic() - t0
        self.stats.last_scan_time = time.time()

    def _ref(self) -> RootRef:
        return RootRef(self.cfg.name, self.cfg.path, self.decision.layout)

    def notify(self, key: str, old: Model | None, new: Model | None, initial: bool = False) -> None:
        """Tell the listeners a model changed (`old`/`new` None: it appeared/disappeared)."""
        for listener in self.listeners:
            try:
                listener.model_changed(self._ref(), key, old, new, initial)
            except Exception:
                log.exception("index listener failed", extra=kv(root=self.cfg.name, key=key))

    def root_event(self, event: str) -> None:
        """Tell the listeners the root was `indexed`, is `missing` or was `lost`."""
        for listener in self.listeners:
            try:
                listener.root_event(self._ref(), event)
            except Exception:
                log.exception("index listener failed", extra=kv(root=self.cfg.name, event=event))

    def publish(self, **status: object) -> None:
        """Update `status` with these fields and publish a new snapshot of the index as `state`."""
        watches = len(self.index.watches) if self.index.watches is not None else 0
        generation = self.status.generation + 1  # scrapes reuse their encoding until this changes
        self.status = replace(self.status, watches=watches, generation=generation, **status)  # type: ignore[arg-type]
        self.state = build_state(self.status, self.index.models.values(), self.index.extras, self.stats)
        PUBLISHED.bump()

    def watch_root(self) -> str:
        """Watch the root folder alone (to see the first decisive entry arrive); the mode this gives."""
        if self.watcher is None:
            return "poll"
        if self.index.watches is None:
            self.index.watches = WatchSet(self.watcher, self.events.report, self.settings.max_watches)
        try:
            return "inotify" if self.index.watches.watch(self.cfg.path, ROOT) else "poll"
        except (WatchLimitReached, OSError):
            return "poll"

    def lose_root(self, gone: bool = True) -> None:
        """The root disappeared (or, not `gone`, must be re-indexed): every model goes, and the worker starts
        afresh. A root that disappeared is a warning (it pages: the next load downloads everything)."""
        if gone:
            log.warning("cache root disappeared", extra=kv(root=self.cfg.name, path=self.cfg.path))
        for key, old in list(self.index.models.items()):
            self.notify(key, old, None)
        self.root_event("lost")
        self.index.forget()
        self.links.close()
        self.reconciler.close()
        self.index.clear_watches()
        self.index.ops = None
        self.events.drain()
        problem = "not a directory" if os.path.lexists(self.cfg.path) else "missing"
        self.publish(present=False, problem=problem, verified=False)
