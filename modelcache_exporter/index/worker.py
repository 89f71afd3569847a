"""What a root's worker does on each wake-up: route events, rescan dirty models, verify, poll, reconcile."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from modelcache_exporter.base import quiet
from modelcache_exporter.base.log import kv
from modelcache_exporter.index.actions import apply, mark, relist
from modelcache_exporter.index.events import Batch
from modelcache_exporter.index.layouts import LIST, STORE
from modelcache_exporter.index.linkpass import confirmed
from modelcache_exporter.index.schedule import Rescan, Settle, Tick
from modelcache_exporter.index.upkeep import poll, reconcile, refresh_store, take_reconcile, tick_incomplete
from modelcache_exporter.index.watch import WatchLimitReached
from modelcache_exporter.index.watching import ensure_watches, fall_back
from modelcache_exporter.index.watchset import ROOT

if TYPE_CHECKING:
    from modelcache_exporter.index.rootcore import RootCore

log = logging.getLogger(__name__)
VERIFY_PUBLISH_GAP = 1.0


def step(idx: RootCore, batch: Batch, now: float) -> None:
    """One round of work; publishes a new state when anything changed."""
    changed = False
    schedule, index = idx.schedule, idx.index
    for target, kind, name, _mask in batch.items:
        route(idx, target, kind, name, now)
    if schedule.is_due(Tick.RECONCILE, now):
        changed |= reconcile(idx)
    if idx.reconciler.busy:
        changed |= take_reconcile(idx)
    if idx.status.mode == "poll" and schedule.is_due(Tick.POLL, now):
        poll(idx, now)
    changed |= rescan_due(idx, now)
    if index.unverified:  # the link pass publishes at most once a second (each publish re-encodes /metrics)
        index.verify_dirty |= collect_links(idx)
        if schedule.is_due(Tick.VERIFY_PUBLISH, now):  # the second is over: left due, the thread could not sleep
            schedule.cancel(Tick.VERIFY_PUBLISH)
        if index.verify_dirty and (not index.unverified or Tick.VERIFY_PUBLISH not in schedule):
            changed, index.verify_dirty = True, False
            schedule.at(Tick.VERIFY_PUBLISH, now + VERIFY_PUBLISH_GAP)
        if not index.unverified:
            schedule.cancel(Tick.VERIFY_PUBLISH)
    if schedule.is_due(Tick.INCOMPLETE, now):
        changed |= tick_incomplete(idx)
        schedule.at(Tick.INCOMPLETE, now + idx.settings.incomplete_tick)
    if schedule.is_due(Tick.STORE, now):
        schedule.cancel(Tick.STORE)
        changed |= refresh_store(index, idx.cfg.path)
    if changed:
        idx.stats.last_change_time = time.time()
        idx.publish(verified=not index.unverified)


def collect_links(idx: RootCore) -> bool:
    """Apply the link pass's reports read since the last call (a repo rescanned since, or gone, already has a
    newer report: its read is dropped); at its end, count the pass and say so."""
    index, changed = idx.index, False
    reads = idx.links.read(index.unverified, idx.settings.verify_slice)
    if reads:
        quiet.pause()  # applied (and published, and encoded) between scrapes, not beside one
    for read in reads:
        if read.key not in index.unverified:
            continue
        index.unverified.remove(read.key)  # read: even should its rescan fail, the pass does not read it again
        if read.failed:  # the root cannot be searched now: the size pass's report stands
            continue
        if read.confirmed is not None:  # the common shape: the size pass's report was exact
            exact = confirmed(index.models.get(read.key), *read.confirmed)
            changed |= rescan(idx, read.key) if exact is None else apply(idx, read.key, exact)
        else:
            changed |= apply(idx, read.key, read.model)
    if not index.unverified:
        seconds = idx.links.finish()
        idx.stats.scans["links"] += 1
        idx.stats.scan_seconds["links"] = seconds
        idx.stats.last_scan_time = time.time()
        log.info("snapshot links verified", extra=kv(root=idx.cfg.name, seconds=round(seconds, 3)))
        changed = True
    return changed


def route(idx: RootCore, target: str, kind: str, name: str, now: float) -> None:
    """Turn one watch event into dirty models."""
    assert idx.index.ops is not None
    if kind == "gone":
        if idx.index.watches is not None:
            idx.index.watches.forget_gone()
        if target not in (ROOT, LIST, STORE):
            mark(idx, target, now)
        return
    if target == ROOT:
        target = idx.index.ops.key_for_root_event(name) or ""
        if not target:
            return
    if target == LIST:
        relist(idx, now)
    elif target == STORE:
        idx.schedule.unless_due(Tick.STORE, now + idx.settings.debounce)
    else:
        mark(idx, target, now)


def rescan(idx: RootCore, key: str) -> bool:
    """Exact rescan of one model (watches first, so nothing lands unseen between the two)."""
    ops = idx.index.ops
    assert ops is not None
    t0 = time.monotonic()
    try:
        ensure_watches(idx.index, key)
    except WatchLimitReached as exc:
        fall_back(idx, str(exc))
    except OSError as exc:
        log.warning("cannot watch a model folder: %s", exc, extra=kv(root=idx.cfg.name, key=key))
    if idx.status.mode == "poll" or idx.index.watches is None:
        idx.index.sigs[key] = ops.signature(key)
    try:
        new = ops.scan_one(key)
    except OSError as exc:  # the root cannot be searched now (permission): the model is kept as last seen
        log.warning("cannot rescan a model: %s", exc.strerror or exc, extra=kv(root=idx.cfg.name, key=key))
        return False
    idx.record_scan("rescan", t0)
    return apply(idx, key, new)


def rescan_due(idx: RootCore, now: float) -> bool:
    """Rescan every model whose debounce (or settle) time has come."""
    changed = False
    for job in idx.schedule.take_due_rescans(now):
        changed |= rescan(idx, job.key)
        if isinstance(job, Rescan):
            idx.schedule.at(Settle(job.key), now + idx.settings.settle)
    return changed
