"""What a root's worker does on each wake-up: route events, rescan dirty models, verify, poll, reconcile."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from modelcache_exporter.base.log import kv
from modelcache_exporter.index.actions import apply, mark, relist
from modelcache_exporter.index.events import Batch
from modelcache_exporter.index.layouts import LIST, STORE
from modelcache_exporter.index.upkeep import poll, reconcile, refresh_store, tick_incomplete, verify_some
from modelcache_exporter.index.watch import WatchLimitReached
from modelcache_exporter.index.watching import ensure_watches, fall_back
from modelcache_exporter.index.watchset import ROOT

if TYPE_CHECKING:
    from modelcache_exporter.index.root import RootIndex

log = logging.getLogger(__name__)
VERIFY_PUBLISH_GAP = 1.0


def step(idx: RootIndex, batch: Batch, now: float) -> None:
    """One round of work; publishes a new state when anything changed."""
    changed = False
    for target, kind, name, _mask in batch.items:
        route(idx, target, kind, name, now)
    if now >= idx._next.get("reconcile", now + 1):
        changed |= reconcile(idx)
    if idx._status.mode == "poll" and now >= idx._next.get("poll", now + 1):
        poll(idx, now)
    changed |= rescan_due(idx, now)
    if idx._unverified:  # the link pass publishes at most once a second (each publish re-encodes /metrics)
        idx._verify_dirty |= verify_some(idx)
        if idx._verify_dirty and (not idx._unverified or now >= idx._next.get("verify_publish", 0.0)):
            changed, idx._verify_dirty = True, False
            idx._next["verify_publish"] = now + VERIFY_PUBLISH_GAP
        if not idx._unverified:
            idx._next.pop("verify_publish", None)
    if now >= idx._next.get("incomplete", now + 1):
        changed |= tick_incomplete(idx)
        idx._next["incomplete"] = now + idx.settings.incomplete_tick
    if now >= idx._next.get("store", now + 1):
        idx._next.pop("store")
        changed |= refresh_store(idx)
    if changed:
        idx.stats.last_change_time = time.time()
        idx._publish(verified=not idx._unverified)


def route(idx: RootIndex, target: str, kind: str, name: str, now: float) -> None:
    """Turn one watch event into dirty models."""
    assert idx._ops is not None
    if kind == "gone":
        if idx._watches is not None:
            idx._watches.forget_gone()
        if target not in (ROOT, LIST, STORE):
            mark(idx, target, now)
        return
    if target == ROOT:
        target = idx._ops.key_for_root_event(name) or ""
        if not target:
            return
    if target == LIST:
        relist(idx, now)
    elif target == STORE:
        idx._next.setdefault("store", now + idx.settings.debounce)
    else:
        mark(idx, target, now)


def rescan(idx: RootIndex, key: str) -> bool:
    """Exact rescan of one model (watches first, so nothing lands unseen between the two)."""
    assert idx._ops is not None
    t0 = time.monotonic()
    try:
        ensure_watches(idx, key)
    except WatchLimitReached as exc:
        fall_back(idx, str(exc))
    except OSError as exc:
        log.warning("cannot watch a model folder: %s", exc, extra=kv(root=idx.cfg.name, key=key))
    if idx._status.mode == "poll" or idx._watches is None:
        idx._sigs[key] = idx._ops.signature(key)
    try:
        new = idx._ops.scan_one(key)
    except OSError as exc:  # the root cannot be searched now (permission): the model is kept as last seen
        log.warning("cannot rescan a model: %s", exc.strerror or exc, extra=kv(root=idx.cfg.name, key=key))
        return False
    idx._record_scan("rescan", t0)
    return apply(idx, key, new)


def rescan_due(idx: RootIndex, now: float) -> bool:
    """Rescan every model whose debounce (or settle) time has come."""
    changed = False
    for name, due in sorted(idx._next.items(), key=lambda kv_: kv_[1]):
        if due > now or not name.startswith(("m:", "s:")):
            continue
        del idx._next[name]
        key = name[2:]
        changed |= rescan(idx, key)
        if name.startswith("m:"):
            idx._next[f"s:{key}"] = now + idx.settings.settle
    return changed
