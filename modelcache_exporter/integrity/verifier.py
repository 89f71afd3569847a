"""The exporter's background verification: every root's models, one at a time, in a worker process.

A pass over a root starts once its index is exact (`verified`) and again `interval` seconds after the last
one ended. Each model is verified by `run.verify_model` in one worker process (spawned, at a lower CPU
priority), under one IO budget; a model with a download in progress is skipped and tried again at the end of
the pass (its last result stands). Results are published as they come; scrapes read `snapshot()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.published import PUBLISHED
from modelcache_exporter.index.offproc import StepThread, Unavailable
from modelcache_exporter.index.state import RootState
from modelcache_exporter.integrity.run import ModelResult, verify_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RootVerification:
    """One root's verification as published: the last result of each model (by key), how much of the current
    pass is done (0-1; 1 between passes), when the last full pass ended (0: none yet), bytes hashed so far."""

    name: str
    models: tuple[ModelResult, ...] = ()
    progress: float = 0.0
    last_pass: float = 0.0
    hashed_bytes: int = 0


@dataclass
class _Pass:
    todo: list[str]
    total: int
    retried: set[str] = field(default_factory=set)


class Verifier(StepThread):
    """Verifies every root in the background; `snapshot()` is what the collector reads."""

    def __init__(self, states: Callable[[], tuple[RootState, ...]], db_path: str, rate: float, interval: float) -> None:
        super().__init__("verify", "verification step failed")  # stopped mid-pass: verified again next time
        self.states, self.db_path, self.rate, self.interval = states, db_path, rate, interval
        self._roots: dict[str, RootVerification] = {}
        self._passes: dict[str, _Pass] = {}
        self._next: dict[str, float] = {}
        self._out: tuple[str, str] | None = None
        self.generation = 0  # counts what was published: equal generations, equal snapshots

    def snapshot(self) -> tuple[RootVerification, ...]:
        """The published verification of every root seen."""
        return tuple(self._roots.values())

    def _step(self) -> None:
        if self._out is not None:
            try:
                done = self._bg.take()
            except Unavailable as exc:
                log.warning("verification worker failed (%s); retrying", exc)
                self._renew()
                self._out = None
                return
            if not done:
                return
            self._finish(*self._out, done[0])
            self._out = None
        states = {s.name: s for s in self.states() if s.ready and s.verified and s.present}
        for name, state in states.items():
            if name not in self._passes and time.monotonic() >= self._next.get(name, 0.0):
                keys = [m.key for m in state.models]
                self._passes[name] = _Pass(keys, len(keys))
        self._submit(states)

    def _submit(self, states: dict[str, RootState]) -> None:
        for name, todo in list(self._passes.items()):
            state = states.get(name)
            if state is None:
                continue
            if not todo.todo:
                self._end(name, {m.key for m in state.models})
                continue
            key = todo.todo.pop(0)
            busy = any(m.key == key and m.incomplete for m in state.models)
            if busy and key not in todo.retried:  # a download into it is under way: once more at the end
                todo.todo.append(key)
                todo.retried.add(key)
                continue
            try:
                self._bg.submit(verify_model, [(state.path, state.layout, key, self.db_path, self.rate)])
            except Unavailable as exc:
                log.warning("verification worker unavailable (%s); will retry", exc)
                todo.todo.insert(0, key)
                return
            self._out = (name, key)
            return

    def _finish(self, name: str, key: str, result: ModelResult) -> None:
        old = self._roots.get(name, RootVerification(name))
        models = {m.key: m for m in old.models}
        if not result.busy or key not in models:
            if result.corrupt and not (key in models and models[key].corrupt == result.corrupt):
                log.warning(
                    "corrupt files: their content does not match their hash",
                    extra=kv(root=name, key=key, files=len(result.corrupt), first=result.corrupt[0]),
                )
            models[key] = result
        todo = self._passes.get(name)
        progress = 1.0 - len(todo.todo) / todo.total if todo and todo.total else 1.0
        self._publish(
            RootVerification(
                name, tuple(models.values()), progress, old.last_pass, old.hashed_bytes + result.hashed_bytes
            )
        )

    def _publish(self, root: RootVerification) -> None:
        self._roots[root.name] = root
        self.generation += 1
        PUBLISHED.bump()

    def _end(self, name: str, keys: set[str]) -> None:
        """The pass over root `name` is done (models no longer in it are forgotten); stop the worker if idle."""
        del self._passes[name]
        self._next[name] = time.monotonic() + self.interval
        old = self._roots.get(name, RootVerification(name))
        models = tuple(m for m in old.models if m.key in keys)
        self._publish(RootVerification(name, models, 1.0, time.time(), old.hashed_bytes))
        if not self._passes:
            self._bg.close()
        log.info("verification pass done", extra=kv(root=name, models=len(old.models)))
