"""The ledger's reads of a big model, in a worker process: every artifact stat'ed, every snapshot link read.

At every start the ledger lists each model's artifacts (a `statx` per file), and when a model is new to it,
its sizes and the files of each revision (a `readlink` per snapshot entry): for a cache of a million files,
tens of seconds of Python that would hold the GIL against every scrape. A model of more than `BIG_FILES`
files is read by one worker process (spawned on first use, stopped after `IDLE_SECONDS` unused) while the
ledger's thread waits without the GIL; a small one is read here, unless small ones come by the hundred (the
first start of a cache of many small models: more than `BIG_FILES` files read here within a second), or the
worker is up anyway: then it reads them all. An OSError raised in the worker (the model cannot be read)
reaches the caller as it would in-process. Without workers, everything is read here.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from modelcache_exporter.index.offproc import NICENESS, spawn_pool, stop_pool
from modelcache_exporter.ledger.artifacts import artifact_size

log = logging.getLogger(__name__)
R = TypeVar("R")
#: Files of a model above which its reads go to the worker (a few ms of work in-process).
BIG_FILES = 500
#: A worker unused this long is stopped (it is started again when needed).
IDLE_SECONDS = 30.0
#: The worker's nice increment: below the index's workers (nice 5), so that on a first start the ledger's
#: reads of a big cache take the CPU the link pass leaves, and exact sizes are not delayed by history.
READ_NICENESS = NICENESS + 10


def sizes_of(root: str, layout: str, key: str, idents: list[str]) -> list[int]:
    """The sizes of artifacts `idents` of model `key` (0 for one that vanished)."""
    return [artifact_size(root, layout, key, ident) for ident in idents]


class Reader:
    """Where the ledger's reads run: here for small models, in one worker process for big ones."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._used = 0.0
        #: files read here in the current second: (its start, files)
        self._here = (0.0, 0)

    @property
    def running(self) -> bool:
        """Whether the worker process is up."""
        return self._pool is not None

    def run(self, files: int, fn: Callable[..., R], *args: object) -> R:
        """`fn(*args)`, reading `files` files: in the worker when that is big, when the reads here add up to
        more than `BIG_FILES` files within a second, or when the worker is up (and workers work)."""
        if self.workers < 1 or not self._offload(files, time.monotonic()):
            return fn(*args)
        try:
            if self._pool is None:
                self._pool = spawn_pool(1, READ_NICENESS)
            self._used = time.monotonic()
            return self._pool.submit(fn, *args).result()
        except (BrokenProcessPool, RuntimeError, pickle.PicklingError) as exc:
            log.warning("ledger read worker unavailable (%s); reading in-process", exc or type(exc).__name__)
            self.close()
            self.workers = 0
            return fn(*args)

    def _offload(self, files: int, now: float) -> bool:
        """Whether a read of `files` files goes to the worker (else it is counted as read here)."""
        if files > BIG_FILES or self._pool is not None:
            return True
        start, here = self._here if now - self._here[0] < 1.0 else (now, 0)
        self._here = (start, here + files)
        return here + files > BIG_FILES

    def tick(self) -> None:
        """Stop the worker when it has not been used for `IDLE_SECONDS`."""
        if self._pool is not None and time.monotonic() - self._used > IDLE_SECONDS:
            self.close()

    def close(self) -> None:
        """Stop the worker."""
        if self._pool is not None:
            stop_pool(self._pool)
            self._pool = None
