"""The cold size pass, in worker processes for a big root.

Python threads do not speed up a scan (the GIL serialises the per-file work between syscalls),
processes do: each worker scans parts of the repos and sends back a few hundred small frozen
`Model`s. Workers are spawned (not forked: the exporter has threads), which takes about 0.2 s; so the
pass first scans here for `PROBE_SECONDS`, and a root that will be done soon (`SMALL_SECONDS`) is finished
here. Otherwise the rest is cut into parts for the workers, and while they start this process scans parts
from the end of the queue (those no worker has taken yet), so the start-up is not lost. Any failure to start
workers (no /dev/shm, a sandbox) falls back to scanning in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from modelcache_exporter.base.log import kv
from modelcache_exporter.index.layouts import LayoutOps
from modelcache_exporter.index.offproc import LazyPool
from modelcache_exporter.layouts.work import size_part
from modelcache_exporter.scan import hub
from modelcache_exporter.scan.model import Model, RootExtras, RootScan

log = logging.getLogger(__name__)
#: How long the pass scans in-process before it estimates the rest.
PROBE_SECONDS = 0.03
#: A rest estimated to take less than this in-process is not worth starting workers for.
SMALL_SECONDS = 0.25
#: Parts the rest is cut into (fine enough for this process to share the work while workers start).
PARTS = 64


def _share(root: str, rest: list[str], store: str | None, workers: int, lazy: LazyPool | None) -> list[Model]:
    """Scan `rest` in `workers` processes, this process taking parts from the end of their queue. `lazy`: the
    processes to use (kept running for the link pass after this one), else a pool of this pass's own."""
    if lazy is None:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as own:
            return _split(root, rest, store, own)
    return _split(root, rest, store, lazy.get())


def _split(root: str, rest: list[str], store: str | None, pool: Executor) -> list[Model]:
    n = min(len(rest), PARTS)
    chunks = [rest[i::n] for i in range(n)]
    done: list[Model] = []
    futures: list[Future[list[Model]]] = [pool.submit(size_part, root, c, store) for c in chunks]
    while futures and futures[-1].cancel():
        futures.pop()
        done.extend(size_part(root, chunks[len(futures)], store))
    for f in futures:
        done.extend(f.result())
    return done


def _size_pass(root: str, keys: list[str], store: str | None, workers: int, pool: LazyPool | None) -> list[Model]:
    """Every repo's size pass report: here for a small root, shared with workers for a big one."""
    t0, done = time.monotonic(), []
    for key in keys:
        done.append(hub.scan_repo(root, key, store, links=False))
        if time.monotonic() - t0 >= PROBE_SECONDS:
            break
    rest = keys[len(done) :]
    estimate = (time.monotonic() - t0) / len(done) * len(rest) if done else 0.0
    if workers < 2 or estimate < SMALL_SECONDS:
        return done + [hub.scan_repo(root, k, store, links=False) for k in rest]
    try:
        return done + _share(root, rest, store, workers, pool)
    except (OSError, BrokenProcessPool, RuntimeError) as exc:
        log.warning("scan workers unavailable (%s); scanning in-process", exc, extra=kv(root=root))
        return done + [hub.scan_repo(root, k, store, links=False) for k in rest]


def scan_parallel(ops: LayoutOps, workers: int, pool: LazyPool | None = None) -> RootScan:
    """The first scan of a root: the size pass for hf-hub (shared with `workers` processes: those of `pool`
    when given, which it leaves running), full otherwise."""
    if ops.layout != "hf-hub":
        return ops.scan_all(links=True)
    from modelcache_exporter.scan.store import store_path

    store = store_path(ops.path)

    def mapper(_fn: object, keys: Iterable[str]) -> list[Model]:
        return _size_pass(ops.path, list(keys), store, workers, pool)

    result = ops.scan_all(links=False, mapper=mapper)
    return RootScan(tuple(sorted(result.models, key=lambda m: m.key)), result.extras or RootExtras())
