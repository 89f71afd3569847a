"""Collectors register themselves here, as node_exporter's do: each collector module registers, under its
collector's name (the NAME of `--collector.NAME` and of the scrape's `collector` label), a factory that builds
the collector from the exporter's workers, or returns None when what it reads is not running or is switched
off. `catalog.build` runs the factories in the order of the exposition."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from modelcache_exporter.access.checker import AccessChecker
from modelcache_exporter.collectors.base import Source
from modelcache_exporter.fshealth.health import RootHealth
from modelcache_exporter.fshealth.sampler import DiskSampler
from modelcache_exporter.index import CacheIndex
from modelcache_exporter.integrity.verifier import Verifier
from modelcache_exporter.ledger.monitor import Ledger
from modelcache_exporter.logs.monitor import LogMonitor


@dataclass(frozen=True)
class Workers:
    """What the exporter runs, as its collectors see it (None or empty where a worker is not running), with
    the switches and settings of the collectors that read a shared worker."""

    index: CacheIndex | None
    ledger: Ledger | None
    verifier: Verifier | None
    readable: AccessChecker | None
    health: Sequence[RootHealth]
    disk: DiskSampler | None
    logs: LogMonitor | None
    #: `--collector.cache.max-models`: models shown per root, the rest summed as one
    max_models: int
    #: `--collector.filesystem.timeout`: a statvfs running longer is an error
    filesystem_timeout: float
    #: the switches of the collectors reading the per-root health samplers or the log monitor
    filesystem: bool
    probe: bool
    webui: bool


def per_model_key(generation: int, index: CacheIndex, ledger: Ledger | None) -> object:
    """The `cache_key()` of a collector that shows a worker's published snapshot per model: it changes when the
    worker publishes (`generation`), when the index does (the repo labels) or when the required models are
    evaluated again (the evaluation itself, not its `id()`: a new tuple may get the id of the one it replaced,
    and the key would not change)."""
    required = ledger.required if ledger is not None else None
    return generation, tuple((s.name, s.generation) for s in index.states()), required


#: builds a collector from the workers, or None when it has nothing to read
Factory = Callable[[Workers], "Source | None"]
FACTORIES: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    """Decorator: `factory` builds the collector named `name` (each name once)."""

    def add(factory: Factory) -> Factory:
        if name in FACTORIES:
            raise ValueError(f"collector {name!r} registered twice")
        FACTORIES[name] = factory
        return factory

    return add
