"""The link pass of one hub root: every repo's snapshot links read after the size pass, until the index is exact.

A big root is read in worker processes (`offproc.Background`), each with several repos in flight
(`base.threads`: a cold disk gets a deep queue), and the reports come back part by part. A small root is
read in the root's worker thread, a slice at a time between events: below `IN_PROCESS_FILES` that is done
before worker processes would have started. So is the rest of a pass whose workers could not start or died.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from modelcache_exporter.base.log import kv
from modelcache_exporter.index.offproc import Background, Unavailable, parts, stop_pool
from modelcache_exporter.layouts.work import LinkRead, link_part, read_one
from modelcache_exporter.scan.model import Model

log = logging.getLogger(__name__)
#: Files (size pass count) below which a root's links are read in-process (bench/results.md, "link pass").
IN_PROCESS_FILES = 2_000


def confirmed(model: Model | None, commit: str, blobs: int) -> Model | None:
    """The size pass report `model` made exact by a link read that found its one revision `commit` holding
    each of its `blobs` blobs once; None when the report does not match that read (changed since: read again)."""
    if model is None or len(model.revisions) != 1 or model.revisions[0].commit != commit:
        return None
    if model.files != blobs or model.blob_files != blobs or model.unreferenced_files:
        return None
    rev = replace(model.revisions[0], files=blobs, size_bytes=model.size_bytes, last_modified=model.last_modified)
    return replace(model, revisions=(rev,), verified=True)


class LinkPass:
    """Where the link pass of one root reads (workers or here), and since when."""

    def __init__(self, path: str, root: str, workers: int, wake: Callable[[], None]) -> None:
        self.path, self.root, self.workers, self.wake = path, root, workers, wake
        self.started: float | None = None
        self._bg: Background | None = None

    @property
    def waiting(self) -> bool:
        """Workers are reading: nothing for the root's thread to do until a part comes back (it is woken)."""
        return self._bg is not None and self._bg.busy

    def start(self, keys: list[str], files: int, pool: ProcessPoolExecutor | None = None) -> str:
        """Begin reading `keys` (a root of `files` files); where they are read: `workers` or `here`. `pool`:
        the size pass's worker processes, already running (used, or stopped when the links are read here)."""
        self.close()
        self.started = time.monotonic()
        if files < IN_PROCESS_FILES or self.workers < 1 or not keys:
            if pool is not None:
                stop_pool(pool)
            return "here"
        bg = Background(self.workers, self.wake, pool)
        try:
            bg.submit(link_part, [(self.path, part) for part in parts(keys, self.workers)])
        except Unavailable as exc:
            log.warning("link pass workers unavailable (%s); reading links in-process", exc, extra=kv(root=self.root))
            return "here"
        self._bg = bg
        return "workers"

    def read(self, pending: list[str], budget: float) -> list[LinkRead]:
        """The reports read since the last call: what the workers finished (never waits), or, reading here, the
        first of `pending` for up to `budget` seconds (at least one)."""
        if self._bg is not None:
            try:
                got = [r for part in self._bg.take() for r in part]
            except Unavailable as exc:
                log.warning("link pass workers failed (%s); reading the rest in-process", exc, extra=kv(root=self.root))
                self._bg = None
            else:
                if got or self._bg.busy:
                    return got
                self._bg.close()  # every part is back: what is still pending (its read dropped) is read here
                self._bg = None
        out: list[LinkRead] = []
        end = time.monotonic() + budget
        for key in list(pending):
            if out and time.monotonic() >= end:
                break
            out.append(read_one(self.path, key))
        return out

    def finish(self) -> float:
        """The pass is over: stop its workers; the seconds it took."""
        seconds = time.monotonic() - self.started if self.started is not None else 0.0
        self.close()
        return seconds

    def close(self) -> None:
        """Stop any workers and forget the pass."""
        if self._bg is not None:
            self._bg.close()
            self._bg = None
        self.started = None
