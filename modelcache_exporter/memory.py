"""Keep the exporter's memory flat under its own thread pattern.

glibc gives each thread that contends for the heap an arena of its own, up to 8 per core, and an arena
keeps its high-water mark. The exporter's threads (one per HTTP connection, the log reader, one per cache
root, the ledger) each allocate and free in bursts, so RSS climbs for many minutes and settles high:
measured in the 30-minute soak (bench/soak.py), 53 MiB with glibc's default and 39 MiB with two arenas, at
the same throughput. A sidecar has no use for more arenas than that, so the limit is set at start, before
any thread runs, unless `MALLOC_ARENA_MAX` says otherwise (glibc reads that itself). Other C libraries
(musl) have no arenas and no `mallopt`: nothing is done there.
"""

from __future__ import annotations

import ctypes
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
