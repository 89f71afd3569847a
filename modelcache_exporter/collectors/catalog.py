"""Every collector of the exporter, in the order their families are exposed. Importing the collector
modules registers their factories (`registry.register`); `build` runs the factories in that order."""

from __future__ import annotations

from modelcache_exporter.collectors import (  # noqa: F401 (imported to register their factories)
    cache,
    diskstats,
    exporter,
    filesystem,
    index,
    ledger,
    logs,
    probe,
    readable,
    verify,
    webui,
)
from modelcache_exporter.collectors.base import Source
from modelcache_exporter.collectors.registry import FACTORIES, Workers

ORDER = (
    "cache",
    "index",
    "ledger",
    "verify",
    "readable",
    "filesystem",
    "diskstats",
    "probe",
    "logs",
    "webui",
    "exporter",
)


def build(workers: Workers) -> list[Source]:
    """The collectors that have something to read, in `ORDER`."""
    if set(FACTORIES) != set(ORDER):
        raise RuntimeError(f"registered collectors {sorted(FACTORIES)} differ from the exposition order {ORDER}")
    sources = []
    for name in ORDER:
        source = FACTORIES[name](workers)
        if source is not None:
            sources.append(source)
    return sources
