"""The index worker's periodic upkeep: the link pass, partial downloads, the shared store, polling,
reconciliation."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from modelcache_exporter.base.log import kv
from modelcache_exporter.index.actions import apply, mark, relist
from modelcache_exporter.index.watchset import ROOT
from modelcache_exporter.scan import plain
from modelcache_exporter.scan.model import RootScan, ScanError
from modelcache_exporter.scan.store import scan_store

if TYPE_CHECKING:
    from modelcache_exporter.index.root import RootIndex

log = logging.getLogger(__name__)


def verify_some(idx: RootIndex) -> bool:
    """Read the snapshot links of a few repos (the link pass), for at most `verify_slice` seconds."""
    assert idx._ops is not None
    if idx._verify_started is None:
        idx._verify_started = time.monotonic()
    end = time.monotonic() + idx.settings.verify_slice
    changed = False
    while idx._unverified and time.monotonic() < end:
        key = idx._unverified[0]
        try:
            new = idx._ops.scan_one(key)
        except OSError:  # the root cannot be searched now: the size pass's report stands
            idx._unverified.pop(0)
            continue
        changed |= apply(idx, key, new)
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


def root_error(scan: RootScan) -> ScanError | None:
    """The error that kept a scan from listing the root itself (unreadable), if any."""
    found = [*scan.extras.errors, *(e for m in scan.models for e in m.errors)]
    return next((e for e in found if e.path == "" and e.kind != "vanished"), None)


def reconcile(idx: RootIndex) -> bool:
    """A size pass over the whole root; rescan what differs from the index and count corrections."""
    assert idx._ops is not None
    now = time.monotonic()
    idx._next["reconcile"] = now + idx.settings.reconcile
    if idx.decision.contradicted():
        log.info("cache root layout changed; re-indexing", extra=kv(root=idx.cfg.name))
        idx._lose_root()
        return True
    t0 = time.monotonic()
    scan = idx._ops.scan_all(links=idx._ops.layout != "hf-hub")
    idx._extras = replace(idx._extras, corruption=scan.extras.corruption, errors=scan.extras.errors)
    if root_error(scan) is not None:  # the root cannot be listed: say so, and keep what was last seen
        idx._record_scan("reconcile", t0)
        return True
    fresh = {m.key: m for m in scan.models}
    # Models an event already marked for a rescan are not missed events: put right now, not counted.
    pending = {name[2:] for name in idx._next if name.startswith(("m:", "s:"))}
    corrections = 0
    for key in set(fresh) | set(idx._models):
        old, new = idx._models.get(key), fresh.get(key)
        same = old is not None and new is not None and old.content_view() == new.content_view()
        if same and (idx._ops.layout == "hf-hub" or old.exact_view() == new.exact_view()):  # type: ignore[union-attr]
            continue
        try:
            exact = idx._ops.scan_one(key) if idx._ops.layout == "hf-hub" else new
        except OSError:
            continue
        if apply(idx, key, exact) and key not in pending:
            corrections += 1
    idx._record_scan("reconcile", t0)
    idx.stats.corrections += corrections
    if corrections:
        log.info("reconciliation corrected the index", extra=kv(root=idx.cfg.name, corrections=corrections))
    refresh_store(idx)
    return True
