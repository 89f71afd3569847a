"""Keep the exporter's memory flat under its own thread pattern.

glibc gives each thread that contends for the heap an arena of its own, up to 8 per core, and an arena
keeps its high-water mark. The exporter's threads (one per HTTP connection, the log reader, one per cache
root, the ledger) each allocate and free in bursts, so RSS climbs for many minutes and settles high:
measured in the 30-minute soak (bench/soak.py), 53 MiB with glibc's default and 39 MiB with two arenas, at
the same throughput. A sidecar has no use for more arenas than that, so the limit is set at start, before
any thread runs, unless `MALLOC_ARENA_MAX` says otherwise (glibc reads that itself). Other C libraries
(musl) have no arenas and no `mallopt`: nothing is done there.

Python's cyclic collector traverses every tracked object in a full collection, holding the GIL throughout,
and the exporter's modules, classes and functions are most of them and are never freed. On the 1M-file
benchmark cache a full collection took 18-28 ms (median) and ran about once a second while the ledger first
recorded the root: any scrape it met took that much longer. `freeze_startup` puts what is alive once the
modules are imported out of the collector's reach (`gc.freeze`): a full collection then takes ~5 ms.
"""

from __future__ import annotations

import ctypes
import gc
import os

M_ARENA_MAX = -8  # <malloc.h>
ARENAS = 2


def limit_arenas(environ: dict[str, str] | None = None) -> bool:
    """Cap glibc's malloc arenas at `ARENAS`; True when the cap was set here."""
    env = os.environ if environ is None else environ
    if "MALLOC_ARENA_MAX" in env:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, ARENAS))


def freeze_startup() -> int:
    """Collect, then move every object alive now out of the cyclic collector's reach (they are still freed
    when their last reference goes); the number of objects frozen. Called once the exporter's modules are
    imported and before its objects are made: an exporter replaced by a reload is collected as usual."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
