"""A reconciliation's scan of a big root, in a worker process (the comparison stays on the root's thread).

The scan is the layout's own `scan_root` (a size pass for hf-hub, the full scan otherwise), run whole by one
worker at a lower CPU priority; the root's thread is woken when it is done. A root below
`linkpass.IN_PROCESS_FILES` files, or one whose worker cannot start or dies, is scanned in-process. The worker
is kept for the next reconciliation when that comes within `KEEP_SECONDS` (a short `reconcile-interval`):
starting a process costs more than the scan of a small root; otherwise it is stopped once its scan is taken.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from modelcache_exporter import layouts
from modelcache_exporter.base.log import kv
from modelcache_exporter.index.layouts import LayoutOps
from modelcache_exporter.index.offproc import Background, LazyPool, Unavailable, stop_pool
from modelcache_exporter.scan.model import RootScan

log = logging.getLogger(__name__)
#: A reconcile interval up to this keeps the worker process between reconciliations.
KEEP_SECONDS = 30.0


class Reconciler:
    """The scan of the reconciliation under way in a worker, if any, and when it began."""

    def __init__(self, root: str, workers: int, wake: Callable[[], None], interval: float = 600.0) -> None:
        self.root, self.workers, self.wake = root, workers, wake
        self.started = 0.0
        self._bg: Background | None = None
        self._keep = LazyPool(1) if interval <= KEEP_SECONDS else None

    @property
    def busy(self) -> bool:
        """A scan is out in the worker."""
        return self._bg is not None

    def start(self, ops: LayoutOps, links: bool) -> bool:
        """Start the scan of the root of `ops` in a worker; False when no worker can start (scan in-process)."""
        if self._bg is not None:  # a scan still out: stopped with its worker
            self.close()
        if self.workers < 1:
            return False
        try:
            bg = Background(1, self.wake, self._keep.get() if self._keep is not None else None)
            bg.submit(layouts.scan_root, [(ops.path, ops.layout, ops.model_name, ops.exclude, links)])
        except (Unavailable, OSError) as exc:
            log.warning("reconcile worker unavailable (%s); scanning in-process", exc, extra=kv(root=self.root))
            self._forget_kept()
            return False
        self._bg, self.started = bg, time.monotonic()
        return True

    def take(self) -> RootScan | None:
        """The scan, once done (never waits); Unavailable when the worker failed."""
        assert self._bg is not None
        try:
            done = self._bg.take()
        except Unavailable:
            self._bg = None
            self._forget_kept()
            raise
        if not done:
            return None
        if self._keep is not None:
            self._bg = None  # its worker is kept (`_keep`) for the next reconciliation
        else:
            self.close()
        scan: RootScan = done[0]
        return scan

    def close(self) -> None:
        """Stop the worker, if any (a kept one too)."""
        if self._bg is not None:
            self._bg.close()
            self._bg = None
        self._forget_kept()

    def _forget_kept(self) -> None:
        """The kept worker was stopped with its pass (or failed): the next reconciliation starts another."""
        if self._keep is not None:
            pool = self._keep.take()
            if pool is not None:
                stop_pool(pool)
