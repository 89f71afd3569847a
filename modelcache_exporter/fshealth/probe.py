"""The active IO probe: a small timed write + fsync + read + unlink on the cache's filesystem.

It runs in a probe directory that is never inside a cache tree (the exporter never writes into a
cache), and never on a read-only mount. After the fsync the page cache is dropped for the file
(`posix_fadvise(DONTNEED)`), so the read goes to the device.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable

OPS = ("write", "fsync", "read", "unlink")
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROBE_BYTES = 4096


def run_probe(directory: str, clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Time each step on a fresh file in `directory`; the file is removed even on failure."""
    path = os.path.join(directory, f".modelcache-probe-{os.getpid()}-{threading.get_ident()}")
    payload = os.urandom(PROBE_BYTES)
    timings: dict[str, float] = {}
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    try:
        t0 = clock()
        os.write(fd, payload)
        t1 = clock()
        os.fsync(fd)
        t2 = clock()
        timings["write"], timings["fsync"] = t1 - t0, t2 - t1
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    try:
        t0 = clock()
        with open(path, "rb", buffering=0) as fh:
            data = fh.read()
        timings["read"] = clock() - t0
        if data != payload:
            raise OSError(f"probe read back {len(data)} bytes that differ from what was written")
    finally:
        t0 = clock()
        os.unlink(path)
        timings["unlink"] = clock() - t0
    return timings


class Histogram:
    """Thread-safe cumulative histogram per operation (seconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {op: [0] * (len(BUCKETS) + 1) for op in OPS}
        self._sums = dict.fromkeys(OPS, 0.0)

    def observe(self, timings: dict[str, float]) -> None:
        """Record one probe run."""
        with self._lock:
            for op, seconds in timings.items():
                self._counts[op][bisect_left(BUCKETS, seconds)] += 1
                self._sums[op] += seconds

    def snapshot(self) -> dict[str, tuple[list[tuple[str, int]], float]]:
        """{op: (cumulative [(le, count)...] ending with +Inf, sum)}."""
        with self._lock:
            out = {}
            for op in OPS:
                acc, buckets = 0, []
                for le, n in zip([*map(str, BUCKETS), "+Inf"], self._counts[op], strict=True):
                    acc += n
                    buckets.append((le, acc))
                out[op] = (buckets, self._sums[op])
            return out
