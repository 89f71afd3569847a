"""The cold size pass over worker processes.

Python threads do not speed up a scan (the GIL serialises the per-file work between syscalls),
processes do: each worker scans a share of the repos and sends back a few hundred small frozen
`Model`s. Workers are spawned (not forked: the exporter has threads), and any failure to start
them (no /dev/shm, a sandbox) falls back to scanning in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from modelcache_exporter.base.log import kv
from modelcache_exporter.index.layouts import LayoutOps
from modelcache_exporter.scan import hub
from modelcache_exporter.scan.model import Model, RootExtras, RootScan

log = logging.getLogger(__name__)
MIN_REPOS_PER_WORKER = 16


def _scan_chunk(args: tuple[str, list[str], str | None]) -> list[Model]:
    root, keys, store = args
    return [hub.scan_repo(root, k, store, links=False) for k in keys]


def scan_parallel(ops: LayoutOps, workers: int) -> RootScan:
    """The first scan of a root: the size pass for hf-hub (in `workers` processes), full otherwise."""
    if ops.layout != "hf-hub":
        return ops.scan_all(links=True)
    if workers < 2:
        return ops.scan_all(links=False)

    def mapper(fn: object, keys: Iterable[str]) -> list[Model]:
        keys = list(keys)
        if len(keys) < 2 * MIN_REPOS_PER_WORKER:
            return [hub.scan_repo(ops.path, k, store, links=False) for k in keys]
        chunks = [keys[i :: workers * 4] for i in range(workers * 4)]
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                parts = list(pool.map(_scan_chunk, [(ops.path, c, store) for c in chunks]))
        except (OSError, BrokenProcessPool, RuntimeError) as exc:
            log.warning("scan workers unavailable (%s); scanning in-process", exc, extra=kv(root=ops.name))
            return [hub.scan_repo(ops.path, k, store, links=False) for k in keys]
        return [m for part in parts for m in part]

    from modelcache_exporter.scan.store import store_path

    store = store_path(ops.path)
    result = ops.scan_all(links=False, mapper=mapper)
    return RootScan(tuple(sorted(result.models, key=lambda m: m.key)), result.extras or RootExtras())
