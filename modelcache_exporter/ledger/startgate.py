"""When the ledger starts reading the cache: after the index's first passes are exact.

At a start the ledger reads every model it is told about (a `statx` per file, a `readlink` per snapshot entry
for a model new to it). Run beside the index's link pass, those reads take the same CPUs and, on a cold disk,
the same queue: on a 1M-file cache the exporter needed 72 s to exact sizes instead of 42 s (bench/results.md).
So the ledger's thread holds what the index queued until every big root is exact (its link pass is done; the
files it needs are then in the page cache), at most `MAX_WAIT` seconds, once per start of the exporter. Nothing
is reordered: the queue is applied as it was queued, only later (the index tells a root's first models after
publishing the root as indexed, so the ledger sees the root's size when they wake it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from modelcache_exporter.index.linkpass import IN_PROCESS_FILES as BIG_FILES
from modelcache_exporter.index.state import RootState

#: The longest the ledger waits for the index at a start (a slow network filesystem: history must not wait
#: for ever).
MAX_WAIT = 300.0


def index_busy(states: Sequence[RootState]) -> bool:
    """Whether a big root (its link pass in worker processes: `BIG_FILES` files or more) is indexed, present
    and readable but not yet exact. A small root's link pass is over in a moment: it never holds the ledger
    (whose reads of a model happen when it applies the model's event: a model changed while the ledger waited
    is read as it is then)."""
    return any(s.ready and s.present and not s.verified and not s.problem and s.files >= BIG_FILES for s in states)


class StartGate:
    """Closed while a big root's first link pass runs (at most `MAX_WAIT` from the start); then open for good."""

    def __init__(self, max_wait: float = MAX_WAIT) -> None:
        self.deadline = time.monotonic() + max_wait
        self.opened_after: float | None = None
        self._began = time.monotonic()

    def open(self, states: Sequence[RootState]) -> bool:
        """Whether the ledger may read now: not while a big root's first link pass runs. Once every root is
        indexed and none is busy (or `MAX_WAIT` passed) the gate stays open for good."""
        if self.opened_after is not None:
            return True
        busy = index_busy(states)
        indexed = bool(states) and all(s.ready for s in states)  # none yet: the index has not started
        if time.monotonic() >= self.deadline or (not busy and indexed):
            self.opened_after = time.monotonic() - self._began
        return not busy or self.opened_after is not None
