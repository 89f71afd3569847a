"""Delivery of `LogEvent`s: collected under the monitor's lock, delivered outside it.

Events are built only for kinds some listener asked for (`wanted`), so an exporter without
listeners pays nothing for them. Listeners are called one at a time (never concurrently), from
the log thread or, for process and probe events, the web UI watcher thread; an exception in a
listener is logged and does not stop the monitor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from modelcache_exporter.base.log import kv
from modelcache_exporter.logs.events import KINDS, Listener, LogEvent

log = logging.getLogger(__name__)


class Emitter:
    """Listener registry and the queue of events not yet delivered."""

    def __init__(self) -> None:
        self.listeners: list[tuple[Listener, frozenset[str]]] = []
        self.wanted: frozenset[str] = frozenset()
        self.pending: list[LogEvent] = []
        self._deliver = threading.Lock()

    def add(self, fn: Listener, kinds: Iterable[str] | None = None) -> None:
        """Call `fn` for every event (or only for `kinds`)."""
        chosen = frozenset(KINDS if kinds is None else kinds)
        unknown = chosen - set(KINDS)
        if unknown:
            raise ValueError(f"unknown event kinds {sorted(unknown)}; use some of {', '.join(KINDS)}")
        self.listeners.append((fn, chosen))
        self.wanted = self.wanted | chosen

    def emit(self, event: LogEvent) -> None:
        """Queue an event (called under the monitor's lock)."""
        self.pending.append(event)

    def take(self) -> list[LogEvent]:
        """The queued events (called under the monitor's lock)."""
        events, self.pending = self.pending, []
        return events

    def deliver(self, events: list[LogEvent]) -> None:
        """Call the listeners (outside the monitor's lock)."""
        if not events:
            return
        with self._deliver:
            for event in events:
                for fn, kinds in self.listeners:
                    if event.kind in kinds:
                        try:
                            fn(event)
                        except Exception:
                            log.exception("log event listener failed", extra=kv(kind=event.kind))
