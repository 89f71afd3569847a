"""Passes over a whole root run in worker processes, off the serving interpreter.

A pass (the link pass, a reconciliation) on a big root is seconds of Python between syscalls; in the
exporter's own process it would hold the GIL against every scrape. Here it runs in spawned workers (not
forked: the exporter has threads), at a lower CPU priority than the exporter, and the root's worker thread
takes the results as they come (each finished part wakes it) and applies them in its own time.

Workers that cannot start, or that die, raise `Unavailable`: the caller then does the work in-process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from modelcache_exporter.base import quiet

#: Parts a pass is cut into per worker, so that results come back (and are published) as they are done.
PARTS_PER_WORKER = 8
#: How much lower than the exporter the workers run (nice increment): scrapes come first.
NICENESS = 5
#: How often a worker looks whether the exporter that started it is still running (seconds).
ORPHAN_CHECK = 1.0


class Unavailable(Exception):
    """The worker processes could not start, or died mid-pass."""


def _lower_priority(niceness: int) -> None:
    """Run at least `niceness` below normal (nice 0); and on Linux in SCHED_IDLE: it runs only on a CPU nothing
    else wants, so the exporter's scrapes (and the web UI beside it) never wait behind a pass, whose speed is
    unchanged on CPUs that are otherwise idle. On Linux both apply to the calling thread only."""
    with contextlib.suppress(OSError):
        os.nice(max(0, niceness - os.nice(0)))
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _worker_start(niceness: int, windows: Any) -> None:
    """A worker's first step: its priority lowered, the exporter's quiet windows installed (its work pauses
    while a scrape is served or due: `quiet.pause`), and a watch that ends it when the exporter is gone."""
    _lower_priority(niceness)
    quiet.install(windows)
    watch = threading.Thread(target=_end_with, args=(os.getppid(), ORPHAN_CHECK), name="orphan", daemon=True)
    watch.start()


def _end_with(parent: int, every: float) -> None:
    """End this worker once its parent, the exporter, is gone. An exporter killed (SIGKILL, the OOM killer)
    never tells its workers, and one in the middle of a part (a model being hashed) would go on for nobody:
    found by the benchmarks, a verifier worker hashing a 1M-file cache 12 minutes after its exporter died."""
    while os.getppid() == parent:
        time.sleep(every)
    os.kill(os.getpid(), signal.SIGKILL)  # it holds nothing of the exporter's: nothing to clean up


def spawn_pool(workers: int, niceness: int = NICENESS) -> ProcessPoolExecutor:
    """`workers` spawned processes at a lower CPU priority than the exporter, by `niceness`, started now
    (`_start_low`), pausing in the exporter's quiet windows; OSError where processes cannot be made."""
    context = multiprocessing.get_context("spawn")
    start = (niceness, quiet.shared_values())
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start, initargs=start)
    try:
        _start_low(pool, workers, niceness)
    except BaseException:
        stop_pool(pool)
        raise
    return pool


def _start_low(pool: ProcessPoolExecutor, workers: int, niceness: int) -> None:
    """Start the pool's processes from a short-lived thread that first lowers its own priority (nice and
    SCHED_IDLE are per thread on Linux): a process inherits them from the thread that forks it, so its
    start-up (~150 ms of imports before the initializer runs) does not compete with scrapes either. Only the
    processes are started there: the pool's own threads (started by the first `submit`, in the caller's
    thread) keep the exporter's priority, or a starved one would hold the GIL against scrapes. Without the
    executor's `_spawn_process` (no public way before 3.14) the processes start on first use instead, and are
    lowered by the initializer."""
    spawn = getattr(pool, "_spawn_process", None)
    if spawn is None:
        return
    failed: list[BaseException] = []

    def start() -> None:
        _lower_priority(niceness)
        try:
            for _ in range(workers):
                spawn()
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    spawner = threading.Thread(target=start, name="spawn", daemon=True)
    spawner.start()
    spawner.join()
    if failed:
        raise failed[0]


class LazyPool:
    """A pool made on first use (`get`) and handed on (`take`): one pass's processes kept for the next."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor:
        """The pool, made now if it was not (OSError where processes cannot be made: no /dev/shm, a sandbox)."""
        if self._pool is None:
            self._pool = spawn_pool(self.workers)
        return self._pool

    def take(self) -> ProcessPoolExecutor | None:
        """The pool if it was made (now the caller's to stop), else None."""
        pool, self._pool = self._pool, None
        return pool


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: work not started is cancelled, and its processes are terminated rather than
    left to finish (a niced worker on a loaded machine could otherwise hold its pipes for many seconds)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public handle before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if proc.is_alive():
                proc.terminate()


class Background:
    """One pass's worker processes and the parts of the pass they have not returned yet."""

    def __init__(self, workers: int, wake: Callable[[], None], pool: ProcessPoolExecutor | None = None) -> None:
        """`pool`: processes already started (by the size pass before it), adopted: stopped with the pass."""
        self.workers, self.wake = max(1, workers), wake
        self._pool: ProcessPoolExecutor | None = pool
        self._futures: list[Future[Any]] = []

    @property
    def busy(self) -> bool:
        """Parts of the pass are still out."""
        return bool(self._futures)

    def submit(self, fn: Callable[..., Any], jobs: Iterable[tuple[Any, ...]]) -> None:
        """Run `fn(*args)` for each args of `jobs` in the workers; Unavailable when they cannot start."""
        try:
            if self._pool is None:
                self._pool = spawn_pool(self.workers)
            for args in jobs:
                future = self._pool.submit(quiet.then_pause, fn, *args)  # sent back between scrapes
                future.add_done_callback(lambda _f: self.wake())
                self._futures.append(future)
        except (OSError, RuntimeError, BrokenProcessPool) as exc:
            self.close()
            raise Unavailable(str(exc) or type(exc).__name__) from exc

    def take(self) -> list[Any]:
        """The results of the parts finished since the last call (never waits); Unavailable when a worker
        died or failed (the parts still out are dropped: the caller redoes them)."""
        done: list[Future[Any]] = []
        out: list[Future[Any]] = []
        for f in self._futures:  # done() asked once per part: one finishing now is in one of the two lists
            (done if f.done() else out).append(f)
        self._futures = out
        try:
            return [f.result() for f in done]
        except Exception as exc:  # a worker killed (OOM), or an error raised in it
            self.close()
            raise Unavailable(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        """Stop the workers (parts still out are cancelled)."""
        for f in self._futures:
            f.cancel()
        self._futures = []
        if self._pool is not None:
            stop_pool(self._pool)
            self._pool = None


def parts(keys: list[str], workers: int) -> list[list[str]]:
    """`keys` dealt into about PARTS_PER_WORKER parts per worker (round robin: big and small repos mix)."""
    n = max(1, min(len(keys), workers * PARTS_PER_WORKER))
    return [keys[i::n] for i in range(n) if keys[i::n]]


class StepThread(threading.Thread):
    """A background thread that owns one worker process (`bg`): `step()` about once a second, or at once when
    the worker finishes a part (`wake`); a failing step is logged (`what`) and the next one runs."""

    def __init__(self, name: str, what: str) -> None:
        super().__init__(name=name, daemon=True)
        self.what = what
        self._halt, self._wake = threading.Event(), threading.Event()
        self._bg = Background(1, self._wake.set)

    def stop(self) -> None:
        """Stop stepping (the worker is stopped)."""
        self._halt.set()
        self._wake.set()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._step()
            except Exception:
                logging.getLogger(type(self).__module__).exception(self.what)
            self._wake.wait(1.0)
            self._wake.clear()
        self._bg.close()

    def _step(self) -> None:
        raise NotImplementedError

    def _renew(self) -> None:
        """A fresh worker after the last one failed (`Unavailable`): the next part starts it."""
        self._bg = Background(1, self._wake.set)
