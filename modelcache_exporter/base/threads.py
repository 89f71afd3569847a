"""Many blocking reads in flight from one process: a map over a few threads.

On a cold disk a scan waits on one block read per `stat`/`readlink`, and one thread has one read in
flight at a time (which is what `du` does). Threads release the GIL while they wait in a syscall, so a few
of them give the disk a queue to reorder and serve in parallel; on a warm page cache they cost a few per
cent (bench/results.md measures both), so `map_adaptive` first does one item alone and goes on in threads only
when that was slow (a cold disk). Before each item the map pauses while a scrape is served or due
(`quiet.pause`); its threads skip the pauses within an item (`quiet.disk_bound`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from modelcache_exporter.base.quiet import disk_bound, pause, paused_here

T = TypeVar("T")
R = TypeVar("R")

#: Reads in flight per process.
READ_THREADS = 8


def map_threads(fn: Callable[[T], R], items: Sequence[T], threads: int = READ_THREADS) -> list[R]:
    """`[fn(x) for x in items]`, up to `threads` at a time, in the order of `items`."""
    if threads <= 1 or len(items) < 2:
        return [_paced(fn, x) for x in items]
    with ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix="read", initializer=disk_bound) as pool:
        return list(pool.map(lambda x: _paced(fn, x), items))


def _paced(fn: Callable[[T], R], item: T) -> R:
    pause()
    return fn(item)


def map_adaptive(fn: Callable[[T], R], items: Sequence[T], slow: float, threads: int = READ_THREADS) -> list[R]:
    """`[fn(x) for x in items]`: the first alone, timed; the rest in `threads` threads when it took more than
    `slow` seconds (the reads wait on the disk; its pauses for scrapes not counted), else in this thread (warm:
    threads would only cost)."""
    if not items:
        return []
    pause()
    t0 = time.monotonic() - paused_here()
    first = fn(items[0])
    rest = items[1:]
    if time.monotonic() - paused_here() - t0 > slow:
        return [first, *map_threads(fn, rest, threads)]
    return [first, *(_paced(fn, x) for x in rest)]
