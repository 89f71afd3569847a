"""What a scrape reads: an immutable snapshot of one root's index, rebuilt after every change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from modelcache_exporter.scan.model import IncompleteFile, Model, RootExtras

MODES = ("inotify", "poll")
PASSES = ("size", "links", "reconcile", "rescan")


@dataclass
class IndexStats:
    """Counters kept by a root's worker (mutated only by that worker)."""

    scans: Counter[str] = field(default_factory=Counter)
    scan_seconds: dict[str, float] = field(default_factory=dict)
    last_scan_time: float = 0.0
    last_change_time: float = 0.0
    corrections: int = 0
    events: int = 0
    overflows: int = 0
    fallbacks: int = 0


@dataclass(frozen=True)
class RootState:
    """One root as the collectors see it. Totals are precomputed so a scrape does no work.

    `layout` is `unknown` until configured, remembered or detected; `layout_source` says which
    (`configured`, `detected` - a remembered detection included - or `unknown`)."""

    name: str
    path: str
    layout: str
    origin: str
    layout_source: str = "unknown"
    generation: int = 0
    present: bool = False
    ready: bool = False
    verified: bool = False
    mode: str = "poll"
    watches: int = 0
    problem: str = ""
    models: tuple[Model, ...] = ()
    extras: RootExtras = field(default_factory=RootExtras)
    scans: tuple[tuple[str, int], ...] = ()
    scan_seconds: tuple[tuple[str, float], ...] = ()
    last_scan_time: float = 0.0
    last_change_time: float = 0.0
    corrections: int = 0
    events: int = 0
    overflows: int = 0
    fallbacks: int = 0
    size_bytes: int = 0
    allocated_bytes: int = 0
    files: int = 0
    incomplete: tuple[IncompleteFile, ...] = ()
    unreferenced_files: int = 0
    unreferenced_bytes: int = 0
    corruption: tuple[tuple[str, int], ...] = ()
    errors: tuple[tuple[str, int], ...] = ()

    @property
    def incomplete_bytes(self) -> int:
        """Bytes written so far by the downloads in progress."""
        return sum(f.size_bytes for f in self.incomplete)


def build_state(status: RootState, models: Iterable[Model], extras: RootExtras, stats: IndexStats) -> RootState:
    """A new snapshot from `status` (name, presence, mode...) plus models and precomputed totals.

    Physical totals count the shared Xet store once plus what each model's own folder holds.
    """
    ordered = tuple(sorted(models, key=lambda m: m.key))
    corruption: Counter[str] = Counter(dict(extras.corruption))
    errors: Counter[str] = Counter(e.kind for e in extras.errors)
    incomplete = list(extras.incomplete)
    for m in ordered:
        corruption.update(dict(m.corruption))
        errors.update(e.kind for e in m.errors)
        incomplete.extend(m.incomplete)
    return replace(
        status,
        models=ordered,
        extras=extras,
        scans=tuple(sorted(stats.scans.items())),
        scan_seconds=tuple(sorted(stats.scan_seconds.items())),
        last_scan_time=stats.last_scan_time,
        last_change_time=stats.last_change_time,
        corrections=stats.corrections,
        events=stats.events,
        overflows=stats.overflows,
        fallbacks=stats.fallbacks,
        size_bytes=sum(m.local_bytes for m in ordered) + extras.store_bytes,
        allocated_bytes=sum(m.local_allocated_bytes for m in ordered) + extras.store_allocated_bytes,
        files=sum(m.local_files for m in ordered) + extras.store_files,
        incomplete=tuple(incomplete),
        unreferenced_files=sum(m.unreferenced_files for m in ordered),
        unreferenced_bytes=sum(m.unreferenced_bytes for m in ordered),
        corruption=tuple(sorted((k, n) for k, n in corruption.items() if n)),
        errors=tuple(sorted((k, n) for k, n in errors.items() if n)),
    )
