"""Small actions on a root's index shared by the event path and the upkeep: mark a model dirty, re-list
the models, put a model's new report in place."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from modelcache_exporter.base.log import kv
from modelcache_exporter.index.layouts import LIST
from modelcache_exporter.index.schedule import Rescan, Tick
from modelcache_exporter.index.watch import WatchLimitReached
from modelcache_exporter.index.watching import fall_back
from modelcache_exporter.scan.model import Model

if TYPE_CHECKING:
    from modelcache_exporter.index.rootcore import RootCore

log = logging.getLogger(__name__)
STORE_MIN_GAP = 10.0


def mark(idx: RootCore, key: str, now: float) -> None:
    """Schedule an exact rescan of `key` after the debounce delay."""
    idx.schedule.at_latest(Rescan(key), now + idx.settings.debounce)
    if idx.index.extras.store_files and Tick.STORE not in idx.schedule:
        idx.schedule.at(Tick.STORE, now + STORE_MIN_GAP)


def relist(idx: RootCore, now: float) -> None:
    """Models appeared or disappeared above the model level: diff the listing."""
    ops, watches = idx.index.ops, idx.index.watches
    assert ops is not None
    if watches is not None:
        try:
            for d in ops.listing_dirs():
                watches.watch(d, LIST)
        except WatchLimitReached as exc:
            fall_back(idx, str(exc))
    keys = set(ops.list_keys())
    for key in keys.symmetric_difference(idx.index.models):
        mark(idx, key, now)


def apply(idx: RootCore, key: str, new: Model | None) -> bool:
    """Put a model's new report in the index; True when it changed."""
    models = idx.index.models
    old = models.get(key)
    if key in idx.index.unverified:
        idx.index.unverified.remove(key)
    if new is None:
        if old is None:
            return False
        del models[key]
        if idx.index.watches is not None:
            idx.index.watches.drop(key)
    else:
        models[key] = new
        if old == new:
            return False
        log_new_errors(idx.cfg.name, old, new)
    idx.notify(key, old, new)
    return True


def log_new_errors(root: str, old: Model | None, new: Model) -> None:
    """One log line per kind of scan error a model newly has (the metric counts them; files vanishing
    mid-walk are ordinary churn and not logged)."""
    before = {e.kind for e in old.errors} if old is not None else set()
    for kind in sorted({e.kind for e in new.errors} - before - {"vanished"}):
        found = [e for e in new.errors if e.kind == kind]
        log.warning(
            "cannot read part of a model; it is counted without it",
            extra=kv(
                root=root, key=new.key, kind=kind, errors=len(found), path=found[0].short_path(), error=found[0].message
            ),
        )
