"""Single flight: concurrent callers asking for the same thing share one computation that started after they
asked, so N scrapers arriving together cost one render (plus at most the one already running), never N in a row.

A caller never gets a result computed before it arrived: one that finds a computation already running waits
for the next one, which it shares with everyone else who arrived meanwhile (Go's `singleflight` only joins the
running call, which could hand out data older than the request)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class _Call(Generic[V]):
    """One computation and the callers waiting for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None

    def result(self) -> V:
        """The value, once computed; what the computation raised, raised again."""
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set before `done`


class SingleFlight(Generic[V]):
    """Runs `fn` for a key once per group of callers; one computation at a time (whatever the key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = threading.Lock()
        self._next: dict[Hashable, _Call[V]] = {}
        self.shared = 0  # callers served by a computation another caller ran

    def do(self, key: Hashable, fn: Callable[[], V]) -> V:
        """`fn()`'s value, computed after this call began, shared with the callers that joined it."""
        with self._lock:
            call = self._next.get(key)
            if call is not None:
                self.shared += 1
                follower = True
            else:
                call = self._next[key] = _Call()
                follower = False
        if follower:
            return call.result()
        with self._running:
            with self._lock:
                del self._next[key]  # callers arriving from now on wait for the next computation
            try:
                value = call.value = fn()
            except BaseException as exc:
                call.error = exc
                raise
            finally:
                call.done.set()
        return value
