"""What a root's worker does on each wake-up: route events, rescan dirty models, verify, poll, reconcile."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from ..log import kv
from ..scan import detect_layout, plain
from ..scan.model import Model
from ..scan.store import scan_store
from .events import Batch
from .layouts import LIST, STORE
from .watch import WatchLimitReached
from .watchset import ROOT

if TYPE_CHECKING:
    from .root import RootIndex

log = logging.getLogger(__name__)
STORE_MIN_GAP = 10.0
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


def mark(idx: RootIndex, key: str, now: float) -> None:
    """Schedule an exact rescan of `key` after the debounce delay."""
    due = now + idx.settings.debounce
    idx._next.setdefault(f"m:{key}", due)
    if idx._next[f"m:{key}"] > due:
        idx._next[f"m:{key}"] = due
    if idx._extras.store_files and "store" not in idx._next:
        idx._next["store"] = now + STORE_MIN_GAP


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


def relist(idx: RootIndex, now: float) -> None:
    """Models appeared or disappeared above the model level: diff the listing."""
    assert idx._ops is not None
    if idx._watches is not None:
        try:
            for d in idx._ops.listing_dirs():
                idx._watches.watch(d, LIST)
        except WatchLimitReached as exc:
            idx.fall_back(str(exc))
    keys = set(idx._ops.list_keys())
    for key in keys.symmetric_difference(idx._models):
        mark(idx, key, now)


def rescan(idx: RootIndex, key: str) -> bool:
    """Exact rescan of one model (watches first, so nothing lands unseen between the two)."""
    assert idx._ops is not None
    t0 = time.monotonic()
    try:
        idx.ensure_watches(key)
    except WatchLimitReached as exc:
        idx.fall_back(str(exc))
    except OSError as exc:
        log.warning("cannot watch a model folder: %s", exc, extra=kv(root=idx.cfg.name, key=key))
    if idx._status.mode == "poll" or idx._watches is None:
        idx._sigs[key] = idx._ops.signature(key)
    new = idx._ops.scan_one(key)
    idx._record_scan("rescan", t0)
    return apply(idx, key, new)


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


def verify_some(idx: RootIndex) -> bool:
    """Read the snapshot links of a few repos (the link pass), for at most `verify_slice` seconds."""
    assert idx._ops is not None
    if idx._verify_started is None:
        idx._verify_started = time.monotonic()
    end = time.monotonic() + idx.settings.verify_slice
    changed = False
    while idx._unverified and time.monotonic() < end:
        key = idx._unverified[0]
        changed |= apply(idx, key, idx._ops.scan_one(key))
    if not idx._unverified:
        idx._record_scan("links", idx._verify_started)
        log.info(
            "snapshot links verified",
            extra=kv(root=idx.cfg.name, seconds=round(time.monotonic() - idx._verify_started, 3)),
        )
        idx._verify_started = None
        changed = True
    return changed


def tick_incomplete(idx: RootIndex) -> bool:
    """Re-stat partial downloads (progress); a vanished one marks its model dirty."""
    changed = False
    now = time.monotonic()
    for key, model in list(idx._models.items()):
        if not model.incomplete:
            continue
        fresh = []
        for f in model.incomplete:
            try:
                st = os.stat(os.path.join(idx.cfg.path, f.path))
            except OSError:
                mark(idx, key, now)
                break
            fresh.append(replace(f, size_bytes=st.st_size, allocated_bytes=st.st_blocks * 512, mtime=st.st_mtime))
        else:
            if tuple(fresh) != model.incomplete:
                idx._models[key] = replace(model, incomplete=tuple(fresh))
                changed = True
    if idx._status.layout == "modelscope":
        temp = plain.scan_temp(idx.cfg.path)
        if temp != idx._extras.incomplete:
            idx._extras = replace(idx._extras, incomplete=temp)
            changed = True
    return changed


def refresh_store(idx: RootIndex) -> bool:
    """Recount the shared Xet store (rate-limited: it can hold as many files as the repos)."""
    errors: list = []
    store = scan_store(idx.cfg.path, errors)
    files, size, alloc = (store.files, store.size_bytes, store.allocated_bytes) if store else (0, 0, 0)
    new = replace(idx._extras, store_files=files, store_bytes=size, store_allocated_bytes=alloc)
    if new == idx._extras:
        return False
    idx._extras = new
    return True


def record_signatures(idx: RootIndex) -> None:
    """Folder signatures of the listing and of every model, as of now (polling compares against them)."""
    assert idx._ops is not None
    idx._sigs[ROOT] = idx._ops.listing_signature()
    for key in idx._ops.list_keys():
        idx._sigs[key] = idx._ops.signature(key)


def poll(idx: RootIndex, now: float) -> None:
    """Without inotify: compare folder mtimes and mark what changed."""
    assert idx._ops is not None
    idx._next["poll"] = now + idx.settings.poll
    listing = idx._ops.listing_signature()
    if idx._sigs.get(ROOT) != listing:
        idx._sigs[ROOT] = listing
        relist(idx, now)
    for key in list(idx._models):
        sig = idx._ops.signature(key)
        if idx._sigs.get(key) != sig:
            mark(idx, key, now)


def reconcile(idx: RootIndex) -> bool:
    """A size pass over the whole root; rescan what differs from the index and count corrections."""
    assert idx._ops is not None
    now = time.monotonic()
    idx._next["reconcile"] = now + idx.settings.reconcile
    if idx.cfg.layout == "auto" and detect_layout(idx.cfg.path, idx._ops.layout) != idx._ops.layout:
        log.info("cache root layout changed; re-indexing", extra=kv(root=idx.cfg.name))
        idx._lose_root()
        return True
    t0 = time.monotonic()
    fresh = {m.key: m for m in idx._ops.scan_all(links=idx._ops.layout != "hf-hub").models}
    corrections = 0
    for key in set(fresh) | set(idx._models):
        old, new = idx._models.get(key), fresh.get(key)
        same = old is not None and new is not None and old.content_view() == new.content_view()
        if same and (idx._ops.layout == "hf-hub" or old.exact_view() == new.exact_view()):  # type: ignore[union-attr]
            continue
        exact = idx._ops.scan_one(key) if idx._ops.layout == "hf-hub" else new
        if apply(idx, key, exact):
            corrections += 1
    idx._record_scan("reconcile", t0)
    idx.stats.corrections += corrections
    if corrections:
        log.info("reconciliation corrected the index", extra=kv(root=idx.cfg.name, corrections=corrections))
    refresh_store(idx)
    return True
