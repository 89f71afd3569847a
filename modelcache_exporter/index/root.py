"""One root's index, kept by one background thread.

Start: watch, then scan (the size pass, in worker processes), publish; then read snapshot links
repo by repo in the background (the link pass) until the index is exact. Afterwards inotify
events mark models dirty and each dirty model is rescanned alone, a moment later (events come in
bursts) and once more a little after (a snapshot link may follow its blob). Partial downloads
are re-stat'ed every second. Every `reconcile` seconds a size pass compares the whole root with
the index and counts what the events missed. Without inotify the root is polled instead.
A scrape never waits for any of this: it reads the last published `RootState`.

Before all that, the root's layout must be known (configured, detected or remembered: `decide`); a root
with nothing decisive in it is indexed with no models, layout `unknown`, and looked at again on every
change of its folder until content tells.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace

from modelcache_exporter.base.log import kv
from modelcache_exporter.index import upkeep, watching, worker
from modelcache_exporter.index.actions import log_new_errors
from modelcache_exporter.index.layouts import LayoutOps
from modelcache_exporter.index.offproc import LazyPool, stop_pool
from modelcache_exporter.index.parallel import scan_parallel
from modelcache_exporter.index.rootcore import RootCore
from modelcache_exporter.index.schedule import Tick
from modelcache_exporter.index.types import IndexSettings, Listener, RootRef
from modelcache_exporter.scan import UNKNOWN
from modelcache_exporter.scan.model import RootExtras, error_from_os

__all__ = ["IndexSettings", "Listener", "RootIndex", "RootRef"]  # RootRef: imported from here by the ledger
log = logging.getLogger(__name__)


class RootIndex(RootCore):
    """Keeps `state` current for one root."""

    # -- lifecycle -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the worker to finish; it drops its watches on the way out."""
        self._halt.set()
        self.events.wake()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._step()
            except Exception:  # the index must outlive any surprise on disk
                log.exception("index step failed; retrying", extra=kv(root=self.cfg.name))
                self._halt.wait(1.0)
        self.links.close()
        self.reconciler.close()
        self.index.clear_watches()

    def _step(self) -> None:
        if self.index.ops is None:
            if self.events.drain().root_gone:
                self.index.clear_watches()  # an undecided root's folder was replaced: watch the new one
            if not self._start():
                self.events.wait(self.settings.poll, self._halt)
            return
        batch = self.events.drain()
        self.stats.events += batch.events
        if batch.root_gone or not os.path.isdir(self.cfg.path):
            self.lose_root()
            return
        now = time.monotonic()
        if batch.overflow:
            self.stats.overflows += 1
            self.schedule.at(Tick.RECONCILE, now)
        worker.step(self, batch, now)
        if not self.index.unverified or self.links.waiting:  # a link pass read here goes on without sleeping
            self.events.wait_until(self.schedule.next_time(default=now + 1.0), self._halt)

    # -- start and loss of a root -----------------------------------------------------------------
    def _start(self) -> bool:
        path = self.cfg.path
        if not os.path.isdir(path):
            self._missing(path)
            return False
        try:
            with os.scandir(path) as it:
                next(it, None)
        except OSError as exc:  # unreadable: reported, and indexed (for the ledger: first seen) once readable
            self._unreadable(exc)
            return False
        if not self.decision.decide():
            self._undecided()
            return False
        # a root that came into being (or into a layout) while watched fills as we set up: reconcile soon
        early = self.status.ready and (not self.status.present or self.status.layout == UNKNOWN)
        layout = self.decision.layout
        self.index.ops = LayoutOps(path, layout, self.cfg.model or os.path.basename(path), self.exclude)
        self.status = replace(self.status, layout=layout, layout_source=self.decision.choice.source)
        mode = watching.setup_watches(self)
        self.index.sigs = {}
        if mode == "poll":  # signatures before the scan, so nothing changes unseen in between
            upkeep.record_signatures(self.index)
        t0 = time.monotonic()
        self._cold_scan(layout)
        now = time.monotonic()
        first = self.settings.settle if early else self.settings.reconcile
        self.schedule.reset({Tick.RECONCILE: now + first, Tick.INCOMPLETE: now + 1.0})
        if mode == "poll":
            self.schedule.at(Tick.POLL, now + self.settings.poll)
        self.publish(present=True, ready=True, verified=not self.index.unverified, mode=mode, problem="")
        self._tell_listeners()  # after the state: a listener woken by them sees the root indexed (and how big)
        seconds, models = round(time.monotonic() - t0, 3), len(self.index.models)
        log.info(
            "cache root indexed",
            extra=kv(root=self.cfg.name, path=path, layout=layout, models=models, mode=mode, seconds=seconds),
        )
        self._cold = False
        return True

    def _undecided(self) -> None:
        """An existing root with nothing decisive in it: indexed with no models (once, so the ledger has seen
        it), its folder watched, and looked at again on every change in it (or every `poll` seconds)."""
        mode = self.watch_root()
        if self.status.layout_source == UNKNOWN and self.status.present and not self.status.problem:
            return
        self.index.extras = RootExtras()
        self.status = replace(self.status, layout=UNKNOWN, layout_source=UNKNOWN)
        self.publish(present=True, ready=True, verified=True, mode=mode, problem="")
        self.root_event("indexed")
        log.info(
            "cache root indexed; layout not yet known (nothing in it tells)",
            extra=kv(root=self.cfg.name, path=self.cfg.path, layout=UNKNOWN, models=0, mode=mode),
        )

    def _missing(self, path: str) -> None:
        problem = "not a directory" if os.path.lexists(path) else "missing"
        self.index.clear_watches()  # an undecided root's folder watch, if any
        if not self.status.ready or self.status.present or self.status.problem != problem:
            if not self.status.ready:
                self.root_event("missing")
            elif self.status.present:  # seen (undecided or unreadable), now gone
                self.root_event("lost")
            self.publish(present=False, ready=True, problem=problem)
            log.warning(
                "cache root is %s; will check again every %ss",
                problem,
                self.settings.poll,
                extra=kv(root=self.cfg.name, path=path),
            )

    def _unreadable(self, exc: OSError) -> None:
        error = error_from_os(exc, "")
        if self.index.extras.errors != (error,):
            self.index.extras = RootExtras(errors=(error,))
            self.publish(present=True, ready=True, problem=error.message)
            log.warning(
                "cache root cannot be read (%s); will try again every %ss",
                error.message,
                self.settings.poll,
                extra=kv(root=self.cfg.name, path=self.cfg.path),
            )

    def _cold_scan(self, layout: str) -> None:
        """The size pass (in worker processes the first time), then the models told to the listeners."""
        assert self.index.ops is not None
        t0, workers = time.monotonic(), self.settings.scan_workers if self._cold else 0
        # one set of worker processes for the size pass and the link pass after it (spawned on first use)
        lazy = LazyPool(workers) if layout == "hf-hub" and workers >= 2 else None
        try:
            result = scan_parallel(self.index.ops, workers, lazy)
        except BaseException:
            if lazy is not None and (made := lazy.take()) is not None:
                stop_pool(made)
            raise
        pool = lazy.take() if lazy is not None else None
        self.record_scan("size" if layout == "hf-hub" else "reconcile", t0)
        self.index.models = {m.key: m for m in result.models}
        self.index.extras = result.extras
        self.index.unverified = [m.key for m in result.models if not m.verified]
        if self.index.unverified:
            self.links.start(list(self.index.unverified), sum(m.files for m in result.models), pool)
        elif pool is not None:
            stop_pool(pool)

    def _tell_listeners(self) -> None:
        """Every model of the cold scan told to the listeners as first seen, then the root as indexed."""
        for m in sorted(self.index.models.values(), key=lambda m: m.key):
            log_new_errors(self.cfg.name, None, m)
            self.notify(m.key, None, m, initial=True)
        self.root_event("indexed")
