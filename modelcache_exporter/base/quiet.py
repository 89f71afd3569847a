"""Background work keeps off the CPU while a scrape is served or due: quiet windows, shared with workers.

On a machine with few CPUs, a busy worker slows a scrape served beside it even at the lowest CPU priority
(SCHED_IDLE): on this project's 2-vCPU machines, two idle-priority spinners that are not ours raise an idle
exporter's scrape p99 from 3-4 ms to 13-18 ms; stopped when each request arrives they still leave 8-10 ms;
stopped 8 ms before it, 3.4-4.8 ms (bench/results.md, "quiet windows"). Priority decides who runs, not how
fast: the CPUs share caches, memory bandwidth and the host's clock boost. So background work waits while a
request is served, and, for a scraper that comes at a steady interval over one connection (Prometheus),
from shortly before its next scrape is due (`web.pacing` predicts it).

The windows are a few (start, end) pairs of `time.monotonic()` (one clock for all processes of the machine)
in shared memory, made by the serving process and handed to each worker process at its start (`install`).
Work calls `pause()` between items (a repo of a pass, a model of the ledger) and every `EVERY` rows of the
ledger's writes, and `pause_within()` every `EVERY` entries of a folder a pass reads; a pause is bounded
(`MAX_PAUSE` each, at most `MAX_SHARE` of any second), so no window, however set, stops the work.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, MutableSequence
from typing import TypeVar

log = logging.getLogger(__name__)
R = TypeVar("R")
#: Windows at once: one per connection that is served or has a scrape due (more connections: no window).
SLOTS = 8
#: The longest one `pause()` waits.
MAX_PAUSE = 0.1
#: The most of each second that background work spends in pauses (it always progresses).
MAX_SHARE = 0.5
#: How often a pause looks whether its window is still open (it ends when the scrape was answered).
STEP = 0.002
#: A window that claims to last longer than this is ignored (torn or stale values cannot stop the work).
MAX_WINDOW = 1.0
#: Entries (blobs stat'ed, links read, ledger rows written) between two pauses (~1-3 ms when warm): a big repo
#: no longer runs through a window that opened while it was read (`pause_within`).
EVERY = 256


class Windows:
    """`SLOTS` quiet windows, (start, end) in `time.monotonic()` seconds; end <= start: the slot is unused."""

    def __init__(self, values: MutableSequence[float]) -> None:
        self.values = values
        self._free = list(range(len(values) // 2))
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> Windows:
        """Windows in shared memory (passed to worker processes); process-local where that cannot be made
        (no /dev/shm nor writable temporary directory): then workers do not pause, only this process."""
        try:
            return cls(multiprocessing.get_context("spawn").RawArray("d", 2 * SLOTS))
        except OSError as exc:
            log.debug("quiet windows not shared with worker processes: %s", exc)
            return cls([0.0] * (2 * SLOTS))

    def take(self) -> int | None:
        """A free slot, or None when every slot is in use."""
        with self._lock:
            return self._free.pop() if self._free else None

    def give_back(self, slot: int) -> None:
        """Clear the slot and free it."""
        self.set(slot, 0.0, 0.0)
        with self._lock:
            self._free.append(slot)

    def set(self, slot: int, start: float, end: float) -> None:
        """Keep background work quiet in [start, end) (end first: a reader never sees a stale end after a new
        start)."""
        self.values[2 * slot + 1] = min(end, start + MAX_WINDOW)
        self.values[2 * slot] = start

    def quiet_until(self, now: float) -> float:
        """The end of the latest window open at `now`, else 0."""
        until, v = 0.0, self.values
        for i in range(0, len(v), 2):
            start, end = v[i], v[i + 1]
            if start <= now < end <= now + MAX_WINDOW:
                until = max(until, end)
        return until


_THREAD = threading.local()


def disk_bound() -> None:
    """Mark the calling thread as one of several whose reads wait on a cold disk (`base.threads`): it skips the
    pauses within an item (`pause_within`), keeping those between items. Its CPU is mostly idle, so it hardly
    slows a scrape, and pausing its reads would only empty the disk's queue (what exact sizes wait for)."""
    _THREAD.disk = True


def paused_here() -> float:
    """The seconds the calling thread has spent in pauses so far (work timed across pauses subtracts them)."""
    return float(getattr(_THREAD, "paused", 0.0))


class _Pauser:
    """What this process's `pause()` reads, and how much of the current second it has paused."""

    def __init__(self) -> None:
        self.windows: Windows | None = None
        self.second, self.paused = 0.0, 0.0
        self.lock = threading.Lock()


_HERE = _Pauser()


def windows() -> Windows:
    """This process's windows: made (shared) on first use in the serving process; a worker's are installed."""
    with _HERE.lock:
        if _HERE.windows is None:
            _HERE.windows = Windows.shared()
        return _HERE.windows


def shared_values() -> MutableSequence[float] | None:
    """The windows' shared memory, for a worker process's start (None where it could not be shared)."""
    values = windows().values
    return None if isinstance(values, list) else values


def install(values: MutableSequence[float] | None) -> None:
    """In a worker process: pause in the windows of the serving process (None: never pause)."""
    with _HERE.lock:
        _HERE.windows = Windows(values) if values is not None else None


def pause() -> float:
    """Wait while a quiet window is open (a scrape is served or due), at most `MAX_PAUSE`, and never more
    than `MAX_SHARE` of a second in all; the seconds waited. Cheap when no window is open (a few µs)."""
    w = _HERE.windows
    if w is None:
        return 0.0
    now = time.monotonic()
    until = w.quiet_until(now)
    if until <= now:
        return 0.0
    with _HERE.lock:
        if now - _HERE.second >= 1.0:
            _HERE.second, _HERE.paused = now, 0.0
        wait = min(until - now, MAX_PAUSE, MAX_SHARE - _HERE.paused)
        if wait <= 0:
            return 0.0
        _HERE.paused += wait
    waited = min(wait, _sleep_while_quiet(w, now, now + wait))
    _THREAD.paused = paused_here() + waited
    with _HERE.lock:
        _HERE.paused -= wait - waited  # the window closed early (the request was answered): not counted
    return waited


def then_pause(fn: Callable[..., R], *args: object) -> R:
    """`fn(*args)`, then a pause. What a worker process runs: its result is pickled back and unpickled by the
    serving process's executor thread (a 500-model scan is milliseconds of the GIL there), so it is sent after
    a scrape served or due, not while it is."""
    result = fn(*args)
    pause()
    return result


def pause_within() -> float:
    """`pause()` inside an item, every `EVERY` entries of a folder read by a pass (warm, ~1-3 ms of CPU between
    two calls: a window that opens while a 2,000-file repo is read is kept); nothing in a `disk_bound` thread."""
    return 0.0 if getattr(_THREAD, "disk", False) else pause()


def _sleep_while_quiet(w: Windows, start: float, deadline: float) -> float:
    """Sleep until `deadline`, or until no window is open any more (looked at every `STEP` s); the seconds
    slept. A served request's window lasts until it is answered, usually a few ms of its `SERVE_HOLD`."""
    t = start
    with contextlib.suppress(ValueError, OverflowError):
        while t < deadline:
            time.sleep(min(STEP, deadline - t))
            t = time.monotonic()
            if w.quiet_until(t) <= t:
                break
    return max(0.0, t - start)
