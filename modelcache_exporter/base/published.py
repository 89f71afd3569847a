"""A signal that state the scrapes read was published (an index, the ledger, a verification or access pass).

The encoder ahead of scrapes (`collectors.base.ScrapeCollector.prepare`) waits on it, so a new state is
encoded as soon as it is published, not up to one polling interval later when a scrape may already pay for
it (the first scrape after a 100k-file root became ready took 13-14 ms against ~3 ms with the encoder
polling every 0.1 s; bench/results.md, "scrape while busy"). Publishers only count; they never call up
into the collectors.
"""

from __future__ import annotations

import threading


class Signal:
    """A count of publications that waiters can block on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.count = 0

    def bump(self) -> None:
        """Something was published."""
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the count differs from `seen`, at most `timeout` s; the count then."""
        with self._cond:
            self._cond.wait_for(lambda: self.count != seen, timeout)
            return self.count


#: This process's signal: every publisher bumps it, the encoder waits on it.
PUBLISHED = Signal()
