"""The exporter's background access check: can the web UI's user read every model, pass after pass.

A pass over a root (`run.root_access`: every model, and the folders of its required models) runs in one
spawned worker process at a lower CPU priority, once the root's index is exact, then every `interval`
seconds, again `SETTLE` seconds after the index saw the root change (a copy, a download), and at once when the
required models found in it change (the ledger found one, or lost it). A chmod
changes nothing the index sees: it shows at the next pass. Scrapes read `snapshot()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from modelcache_exporter.access.perms import Who
from modelcache_exporter.access.run import Place, RootAccess, root_access
from modelcache_exporter.base.log import kv
from modelcache_exporter.base.published import PUBLISHED
from modelcache_exporter.index.offproc import StepThread, Unavailable
from modelcache_exporter.index.state import RootState

log = logging.getLogger(__name__)
#: Seconds after a change the index saw before the root is checked again.
SETTLE = 10.0


@dataclass(frozen=True)
class RootReadable:
    """One root's last access check: what it found, and when the pass ended (wall clock)."""

    name: str
    access: RootAccess
    checked: float


class AccessChecker(StepThread):
    """Checks every root for user `who`; `places(root name)` gives the required models' folders in it."""

    def __init__(
        self,
        states: Callable[[], tuple[RootState, ...]],
        who: Who,
        interval: float,
        places: Callable[[str], list[Place]],
    ) -> None:
        super().__init__("readable", "access check failed")
        self.states, self.who, self.interval, self.places = states, who, interval, places
        self._roots: dict[str, RootReadable] = {}
        self.generation = 0  # counts what was published: equal generations, equal snapshots
        self._due: dict[str, float] = {}
        self._began: dict[str, float] = {}
        self._places: dict[str, list[Place]] = {}
        self._out: str | None = None

    def snapshot(self) -> tuple[RootReadable, ...]:
        """The last check of every root checked."""
        return tuple(self._roots.values())

    def _step(self) -> None:
        if self._out is not None:
            self._take(self._out)
            return
        now = time.monotonic()
        for state in self.states():
            if not (state.ready and state.verified and state.present):
                continue
            changed = state.last_change_time > self._began.get(state.name, 0.0) + SETTLE
            settled = changed and time.time() > state.last_change_time + SETTLE
            places = self.places(state.name)
            if now >= self._due.get(state.name, 0.0) or settled or places != self._places.get(state.name):
                self._submit(state, places)
                return
        self._bg.close()  # nothing due: no idle worker

    def _submit(self, state: RootState, places: list[Place]) -> None:
        args = (state.path, [m.key for m in state.models], places, self.who.uid, self.who.gids)
        self._places[state.name] = places
        self._began[state.name] = time.time()
        self._due[state.name] = time.monotonic() + self.interval
        try:
            self._bg.submit(root_access, [args])
        except Unavailable as exc:
            log.warning("access check worker unavailable (%s); checking in-process", exc)
            self._publish(state.name, root_access(*args))
            return
        self._out = state.name

    def _take(self, name: str) -> None:
        try:
            done = self._bg.take()
        except Unavailable as exc:
            log.warning("access check worker failed (%s); retrying", exc)
            self._renew()
            self._out = None
            self._due[name] = 0.0
            return
        if done:
            self._out = None
            self._publish(name, done[0])

    def _publish(self, name: str, found: RootAccess) -> None:
        old = self._roots.get(name)
        bad = [a for a in found.models if a.unreadable_files or a.unreadable_folders]
        before = {a.key for a in old.access.models if a.unreadable_files or a.unreadable_folders} if old else set()
        for a in bad:
            if a.key not in before:
                log.warning(
                    "model not readable by the web UI's user",
                    extra=kv(
                        root=name,
                        key=a.key,
                        user=str(self.who),
                        files=a.unreadable_files,
                        folders=a.unreadable_folders,
                        first=f"{a.denied[0].path} ({a.denied[0].why})" if a.denied else "",
                    ),
                )
        self._roots[name] = RootReadable(name, found, time.time())
        self.generation += 1
        PUBLISHED.bump()
