"""When a connection's next request is due: the quiet window (`base.quiet`) it holds for background work.

Prometheus scrapes each target at a fixed interval over one kept-alive connection, so after three scrapes the
next one is due one interval after the last, give or take a few milliseconds. A connection holds one quiet
window: while a request is served (from its first byte, at most `SERVE_HOLD`), then from `LEAD` before
its next request is due until `LATE` after (a request that does not come then is not waited for). An
interval shorter than `MIN_INTERVAL`, or one that moved by more than `TOLERANCE`, predicts nothing: a
client scraping back to back, or at random, only quiets the work while it is served.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelcache_exporter.base.quiet import Windows

#: The quiet time before a due request: the CPUs take a few ms to serve at full speed after background work
#: stops (measured: bench/results.md, "quiet windows").
LEAD = 0.015
#: How long after its due time a request is waited for.
LATE = 0.015
#: The shortest interval that is predicted (windows then cover at most 12 % of the time per connection). Below
#: the intervals scrapers use (Prometheus: 1 s and up; the bench's clients: 0.5 s): at 0.5 s itself, an interval
#: a fraction of a ms short predicted nothing, and half of such a client's scrapes met the background work.
MIN_INTERVAL = 0.25
#: How much two intervals in a row may differ and still predict the next (a fraction, and at least 10 ms).
TOLERANCE = 0.05
#: The longest quiet window a request holds while it is served (a slow client cannot stop the work).
SERVE_HOLD = 0.25


@dataclass(frozen=True)
class Due:
    """A prediction: the next request is due at `at` (monotonic seconds), `interval` after the last."""

    at: float
    interval: float


def predict(arrivals: tuple[float, ...]) -> Due | None:
    """When the next request comes, from the last three arrivals on one connection; None when they are not
    steady (two intervals that differ by more than `TOLERANCE`) or come faster than `MIN_INTERVAL`."""
    if len(arrivals) < 3:
        return None
    a, b, c = arrivals[-3:]
    first, second = b - a, c - b
    if min(first, second) < MIN_INTERVAL or abs(second - first) > max(0.010, TOLERANCE * first):
        return None
    return Due(c + second, second)


class Pacer:
    """One connection's quiet window: held while it is served, then around its next predicted request."""

    def __init__(self, windows: Windows) -> None:
        self.windows = windows
        self.slot = windows.take()
        self.arrivals: tuple[float, ...] = ()

    def begin(self, now: float) -> None:
        """A request's first bytes arrived."""
        self.arrivals = (*self.arrivals[-2:], now)
        if self.slot is not None:
            self.windows.set(self.slot, now, now + SERVE_HOLD)

    def end(self, now: float) -> None:
        """The request was answered: quiet again around the next one, when it is predicted."""
        if self.slot is None:
            return
        due = predict(self.arrivals)
        if due is None or due.at - LEAD <= now:
            self.windows.set(self.slot, 0.0, 0.0)
        else:
            self.windows.set(self.slot, due.at - LEAD, due.at + LATE)

    def close(self) -> None:
        """The connection closed: its window goes."""
        if self.slot is not None:
            self.windows.give_back(self.slot)
            self.slot = None
