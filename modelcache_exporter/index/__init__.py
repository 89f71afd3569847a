"""The in-memory cache index: one background worker per root, one shared inotify instance.

Scrapes call `states()`, which only returns the last published snapshots.
"""

from __future__ import annotations

import logging

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.rootconfig import RootConfig, nested_excludes
from modelcache_exporter.index.memory import LayoutMemory
from modelcache_exporter.index.root import IndexSettings, Listener, RootIndex, RootRef
from modelcache_exporter.index.state import RootState
from modelcache_exporter.index.watch import Watcher

log = logging.getLogger(__name__)

__all__ = ["CacheIndex", "IndexSettings", "LayoutMemory", "Listener", "RootRef", "RootState"]


class CacheIndex:
    """Starts and stops the per-root workers."""

    def __init__(
        self,
        roots: tuple[RootConfig, ...],
        settings: IndexSettings,
        listeners: tuple[Listener, ...] = (),
        use_inotify: bool = True,
        memory: LayoutMemory | None = None,
    ) -> None:
        self.watcher: Watcher | None = None
        if use_inotify:
            try:
                self.watcher = Watcher()
            except OSError as exc:
                log.warning(
                    "inotify unavailable (%s); every cache root is polled", exc, extra=kv(poll_seconds=settings.poll)
                )
        memory = memory or LayoutMemory()  # one for all roots: they share its file
        self.workers = [
            RootIndex(r, nested_excludes(r, roots), settings, self.watcher, listeners, memory) for r in roots
        ]

    def start(self) -> None:
        """Start every worker (each scans its root in the background), with one log line per root: its path and
        the layout it starts in (configured, remembered from an earlier detection, or unknown until detected)."""
        for w in self.workers:
            s = w.state
            log.info(
                "watching cache root",
                extra=kv(root=s.name, path=s.path, layout=s.layout, layout_source=s.layout_source, origin=s.origin),
            )
            w.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the workers and the inotify reader."""
        for w in self.workers:
            w.stop()
        for w in self.workers:
            w.join(timeout)
        if self.watcher is not None:
            self.watcher.close()

    def states(self) -> tuple[RootState, ...]:
        """The last published state of every root (cheap: no filesystem access)."""
        return tuple(w.state for w in self.workers)
