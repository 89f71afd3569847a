"""The hand-off from the inotify reader thread to a root's worker thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from modelcache_exporter.index.watch import SELF_GONE
from modelcache_exporter.index.watchset import ROOT

#: Past this many queued events the worker stops keeping them and reconciles instead.
MAX_QUEUED = 100_000


@dataclass
class Batch:
    """Events taken from the queue at once."""

    items: list[tuple[str, str, str, int]] = field(default_factory=list)
    events: int = 0
    overflow: bool = False
    root_gone: bool = False


class EventQueue:
    """Thread-safe queue with a condition the worker sleeps on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._batch = Batch()
        self._poked = False

    def report(self, target: str, kind: str, name: str, mask: int) -> None:
        """Called on the inotify thread: record and wake the worker."""
        with self._cond:
            b = self._batch
            b.events += 1
            if kind == "overflow" or len(b.items) >= MAX_QUEUED:
                b.overflow = True
                b.items.clear()
            elif target == ROOT and (kind == "gone" or mask & SELF_GONE):
                b.root_gone = True
            elif not b.overflow:
                b.items.append((target, kind, name, mask))
            self._cond.notify()

    def drain(self) -> Batch:
        """Take everything queued so far."""
        with self._cond:
            batch, self._batch, self._poked = self._batch, Batch(), False
        return batch

    def wait_until(self, deadline: float, stop: threading.Event) -> None:
        """Sleep until `deadline` (monotonic), an event, or stop."""
        self.wait(deadline - time.monotonic(), stop)

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Sleep up to `timeout` seconds unless something is queued or stop is set."""
        with self._cond:
            b = self._batch
            if timeout > 0 and not stop.is_set() and not (b.items or b.overflow or b.root_gone or self._poked):
                self._cond.wait(timeout)

    def wake(self) -> None:
        """Wake the worker (used to stop it)."""
        with self._cond:
            self._cond.notify_all()

    def poke(self) -> None:
        """Wake the worker for work of its own (a background part is done), even if it is not yet asleep:
        its next `wait` returns at once unless it drained the queue since."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()
