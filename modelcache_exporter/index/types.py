"""What the index shares with its listeners and its owner: root references, the listener protocol, settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from modelcache_exporter.scan.model import Model


@dataclass(frozen=True)
class RootRef:
    """What a listener needs to know about the root an event comes from (`layout` may be `unknown`)."""

    name: str
    path: str
    layout: str


class Listener(Protocol):
    """Told about every model change, on the root's worker thread (keep it quick: queue the work)."""

    def model_changed(self, ref: RootRef, key: str, old: Model | None, new: Model | None, initial: bool) -> None:
        """`initial`: part of the root's first scan in this process (the cold start)."""

    def root_event(self, ref: RootRef, event: str) -> None:
        """`indexed` (after the cold start's models), `missing` (not there at first sight), `lost`.

        A root whose layout is not yet known (nothing decisive in it) is `indexed` once with `ref.layout`
        `unknown` and no models; once content tells, its cold start follows (models `initial`, `indexed`)."""


@dataclass(frozen=True)
class IndexSettings:
    """Timing and budgets of the index."""

    reconcile: float = 600.0
    poll: float = 5.0
    debounce: float = 0.2
    settle: float = 2.0
    incomplete_tick: float = 1.0
    max_watches: int = 8192
    scan_workers: int = 2
    verify_slice: float = 0.05
