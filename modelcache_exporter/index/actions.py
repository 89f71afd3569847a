"""Small actions on a root's index shared by the event path and the upkeep: mark a model dirty, re-list
the models, put a model's new report in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcache_exporter.index.layouts import LIST
from modelcache_exporter.index.watch import WatchLimitReached
from modelcache_exporter.index.watching import fall_back
from modelcache_exporter.scan.model import Model

if TYPE_CHECKING:
    from modelcache_exporter.index.root import RootIndex

STORE_MIN_GAP = 10.0


def mark(idx: RootIndex, key: str, now: float) -> None:
    """Schedule an exact rescan of `key` after the debounce delay."""
    due = now + idx.settings.debounce
    idx._next.setdefault(f"m:{key}", due)
    if idx._next[f"m:{key}"] > due:
        idx._next[f"m:{key}"] = due
    if idx._extras.store_files and "store" not in idx._next:
        idx._next["store"] = now + STORE_MIN_GAP


def relist(idx: RootIndex, now: float) -> None:
    """Models appeared or disappeared above the model level: diff the listing."""
    assert idx._ops is not None
    if idx._watches is not None:
        try:
            for d in idx._ops.listing_dirs():
                idx._watches.watch(d, LIST)
        except WatchLimitReached as exc:
            fall_back(idx, str(exc))
    keys = set(idx._ops.list_keys())
    for key in keys.symmetric_difference(idx._models):
        mark(idx, key, now)


def apply(idx: RootIndex, key: str, new: Model | None) -> bool:
    """Put a model's new report in the index; True when it changed."""
    old = idx._models.get(key)
    if key in idx._unverified:
        idx._unverified.remove(key)
    if new is None:
        if old is None:
            return False
        del idx._models[key]
        if idx._watches is not None:
            idx._watches.drop(key)
    else:
        idx._models[key] = new
        if old == new:
            return False
    idx._notify(key, old, new)
    return True
