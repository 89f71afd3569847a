"""When the ledger starts reading the cache: after the index's first passes are exact.

At a start the ledger reads every model it is told about (a `statx` per file, a `readlink` per snapshot entry
for a model new to it). Run beside the index's link pass, those reads take the same CPUs and, on a cold disk,
the same queue: on a 1M-file cache the exporter needed 72 s to exact sizes instead of 42 s (bench/results.md).
So the ledger's thread holds what the index queued until every present root is exact (its link pass is done;
the files it needs are then in the page cache), at most `MAX_WAIT` seconds, once per start of the exporter.
Nothing is lost or reordered: the queue is applied as it was queued, only later.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from modelcache_exporter.index.state import RootState

#: The longest the ledger waits for the index at a start (a slow network filesystem: history must not wait
#: for ever).
MAX_WAIT = 300.0


def index_busy(states: Sequence[RootState]) -> bool:
    """Whether a root is not indexed yet (its first scan is running), or is present and readable but not yet
    exact (its link pass is running). A missing or unreadable root is indexed (as such): it does not wait."""
    return any(not s.ready or (s.present and not s.verified and not s.problem) for s in states)


class StartGate:
    """Closed from the ledger's start until the index is first exact (or `MAX_WAIT` passed); then open."""

    def __init__(self, max_wait: float = MAX_WAIT) -> None:
        self.deadline = time.monotonic() + max_wait
        self.opened_after: float | None = None
        self._began = time.monotonic()

    def open(self, states: Sequence[RootState]) -> bool:
        """True once the ledger may read; it never closes again."""
        if self.opened_after is None and (not index_busy(states) or time.monotonic() >= self.deadline):
            self.opened_after = time.monotonic() - self._began
        return self.opened_after is not None
