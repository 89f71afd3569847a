"""The state one root's worker keeps, and how it tells the world: published snapshots, listeners."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.rootconfig import RootConfig
from modelcache_exporter.index.decide import LayoutDecision
from modelcache_exporter.index.events import EventQueue
from modelcache_exporter.index.layouts import LayoutOps
from modelcache_exporter.index.memory import LayoutMemory
from modelcache_exporter.index.state import IndexStats, RootState, build_state
from modelcache_exporter.index.types import IndexSettings, Listener, RootRef
from modelcache_exporter.index.watch import Watcher, WatchLimitReached
from modelcache_exporter.index.watchset import ROOT, WatchSet
from modelcache_exporter.scan.model import Model, RootExtras

log = logging.getLogger(__name__)


class RootCore(threading.Thread):
    """The worker's state (mutated only on its thread) and its outputs; `root.RootIndex` is the worker."""

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
        self._models: dict[str, Model] = {}
        self._extras = RootExtras()
        self._sigs: dict[str, tuple[object, ...]] = {}
        self._unverified: list[str] = []
        self._ops: LayoutOps | None = None
        self._watches: WatchSet | None = None
        self.decision = LayoutDecision(cfg, exclude, memory or LayoutMemory())
        self._status = RootState(cfg.name, cfg.path, self.decision.layout, cfg.origin, self.decision.choice.source)
        self.state = self._status
        self._cold = True
        self._next: dict[str, float] = {}
        self._verify_started: float | None = None
        self._verify_dirty = False

    # -- outputs, used by the worker and its helpers (worker.py, upkeep.py) ----------------------------
    def _record_scan(self, kind: str, t0: float) -> None:
        self.stats.scans[kind] += 1
        self.stats.scan_seconds[kind] = time.monotonic() - t0
        self.stats.last_scan_time = time.time()

    def _ref(self) -> RootRef:
        return RootRef(self.cfg.name, self.cfg.path, self.decision.layout)

    def _notify(self, key: str, old: Model | None, new: Model | None, initial: bool = False) -> None:
        for listener in self.listeners:
            try:
                listener.model_changed(self._ref(), key, old, new, initial)
            except Exception:
                log.exception("index listener failed", extra=kv(root=self.cfg.name, key=key))

    def _root_event(self, event: str) -> None:
        for listener in self.listeners:
            try:
                listener.root_event(self._ref(), event)
            except Exception:
                log.exception("index listener failed", extra=kv(root=self.cfg.name, event=event))

    def _publish(self, **status: object) -> None:
        watches = len(self._watches) if self._watches is not None else 0
        generation = self._status.generation + 1  # scrapes reuse their encoding until this changes
        self._status = replace(self._status, watches=watches, generation=generation, **status)  # type: ignore[arg-type]
        self.state = build_state(self._status, self._models.values(), self._extras, self.stats)

    def _watch_root(self) -> str:
        """Watch the root folder alone (to see the first decisive entry arrive); the mode this gives."""
        if self.watcher is None:
            return "poll"
        if self._watches is None:
            self._watches = WatchSet(self.watcher, self.events.report, self.settings.max_watches)
        try:
            return "inotify" if self._watches.watch(self.cfg.path, ROOT) else "poll"
        except (WatchLimitReached, OSError):
            return "poll"
