"""A reconciliation's scan of a big root, in a worker process (the comparison stays on the root's thread).

The scan is the layout's own `scan_root` (a size pass for hf-hub, the full scan otherwise), run whole by one
worker at a lower CPU priority; the root's thread is woken when it is done. A root below
`linkpass.IN_PROCESS_FILES` files, or one whose worker cannot start or dies, is scanned in-process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from modelcache_exporter import layouts
from modelcache_exporter.base.log import kv
from modelcache_exporter.index.layouts import LayoutOps
from modelcache_exporter.index.offproc import Background, Unavailable
from modelcache_exporter.scan.model import RootScan

log = logging.getLogger(__name__)


class Reconciler:
    """The scan of the reconciliation under way in a worker, if any, and when it began."""

    def __init__(self, root: str, workers: int, wake: Callable[[], None]) -> None:
        self.root, self.workers, self.wake = root, workers, wake
        self.started = 0.0
        self._bg: Background | None = None

    @property
    def busy(self) -> bool:
        """A scan is out in the worker."""
        return self._bg is not None

    def start(self, ops: LayoutOps, links: bool) -> bool:
        """Start the scan of the root of `ops` in a worker; False when no worker can start (scan in-process)."""
        self.close()
        if self.workers < 1:
            return False
        bg = Background(1, self.wake)
        try:
            bg.submit(layouts.scan_root, [(ops.path, ops.layout, ops.model_name, ops.exclude, links)])
        except Unavailable as exc:
            log.warning("reconcile worker unavailable (%s); scanning in-process", exc, extra=kv(root=self.root))
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
            raise
        if not done:
            return None
        self.close()
        scan: RootScan = done[0]
        return scan

    def close(self) -> None:
        """Stop the worker, if any."""
        if self._bg is not None:
            self._bg.close()
            self._bg = None
