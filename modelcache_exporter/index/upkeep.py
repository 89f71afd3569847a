"""The index worker's periodic upkeep: partial downloads, the shared store, polling, reconciliation."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from modelcache_exporter.base import quiet
from modelcache_exporter.base.log import kv
from modelcache_exporter.index.actions import apply, mark, relist
from modelcache_exporter.index.linkpass import IN_PROCESS_FILES
from modelcache_exporter.index.offproc import Unavailable
from modelcache_exporter.index.rootmodels import RootModels
from modelcache_exporter.index.schedule import Tick
from modelcache_exporter.index.watchset import ROOT
from modelcache_exporter.scan import plain
from modelcache_exporter.scan.model import RootScan, ScanError
from modelcache_exporter.scan.store import scan_store

if TYPE_CHECKING:
    from modelcache_exporter.index.rootcore import RootCore

log = logging.getLogger(__name__)


def tick_incomplete(idx: RootCore) -> bool:
    """Re-stat partial downloads (progress); a vanished one marks its model dirty."""
    changed = False
    now = time.monotonic()
    index = idx.index
    for key, model in list(index.models.items()):
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
                index.models[key] = replace(model, incomplete=tuple(fresh))
                changed = True
    if idx.status.layout == "modelscope":
        temp = plain.scan_temp(idx.cfg.path)
        if temp != index.extras.incomplete:
            index.extras = replace(index.extras, incomplete=temp)
            changed = True
    return changed


def refresh_store(index: RootModels, path: str) -> bool:
    """Recount the shared Xet store of the root at `path` (rate-limited: it can hold as many files as the
    repos)."""
    errors: list = []
    store = scan_store(path, errors)
    files, size, alloc = (store.files, store.size_bytes, store.allocated_bytes) if store else (0, 0, 0)
    new = replace(index.extras, store_files=files, store_bytes=size, store_allocated_bytes=alloc)
    if new == index.extras:
        return False
    index.extras = new
    return True


def record_signatures(index: RootModels) -> None:
    """Folder signatures of the listing and of every model, as of now (polling compares against them)."""
    ops = index.ops
    assert ops is not None
    index.sigs[ROOT] = ops.listing_signature()
    for key in ops.list_keys():
        index.sigs[key] = ops.signature(key)


def poll(idx: RootCore, now: float) -> None:
    """Without inotify: compare folder mtimes and mark what changed."""
    ops, sigs = idx.index.ops, idx.index.sigs
    assert ops is not None
    idx.schedule.at(Tick.POLL, now + idx.settings.poll)
    listing = ops.listing_signature()
    if sigs.get(ROOT) != listing:
        sigs[ROOT] = listing
        relist(idx, now)
    for key in list(idx.index.models):
        sig = ops.signature(key)
        if sigs.get(key) != sig:
            mark(idx, key, now)


def root_error(scan: RootScan) -> ScanError | None:
    """The error that kept a scan from listing the root itself (unreadable), if any."""
    found = [*scan.extras.errors, *(e for m in scan.models for e in m.errors)]
    return next((e for e in found if e.path == "" and e.kind != "vanished"), None)


def reconcile(idx: RootCore) -> bool:
    """A size pass over the whole root (in a worker for a big root: `settle_reconcile` follows when it is done);
    rescan what differs from the index and count corrections."""
    index = idx.index
    ops = index.ops
    assert ops is not None
    now = time.monotonic()
    idx.schedule.at(Tick.RECONCILE, now + idx.settings.reconcile)
    if idx.decision.contradicted():
        log.info("cache root layout changed; re-indexing", extra=kv(root=idx.cfg.name))
        idx.lose_root(gone=False)
        return True
    links = ops.layout != "hf-hub"
    if idx.reconciler.busy:
        return False  # the last one is still out
    if sum(m.files for m in index.models.values()) >= IN_PROCESS_FILES and idx.reconciler.start(ops, links):
        return False
    return settle_reconcile(idx, ops.scan_all(links=links), now, current=True)


def take_reconcile(idx: RootCore) -> bool:
    """Settle the reconciliation whose scan a worker finished, if it has (a failed worker: scan here)."""
    ops = idx.index.ops
    assert ops is not None
    started = idx.reconciler.started
    try:
        scan = idx.reconciler.take()
    except Unavailable as exc:
        log.warning("reconcile worker failed (%s); scanning in-process", exc, extra=kv(root=idx.cfg.name))
        return settle_reconcile(idx, ops.scan_all(links=ops.layout != "hf-hub"), started, current=True)
    return False if scan is None else settle_reconcile(idx, scan, started, current=False)


def settle_reconcile(idx: RootCore, scan: RootScan, t0: float, current: bool) -> bool:
    """Compare a reconciliation's scan (begun at monotonic `t0`) with the index; what differs is rescanned
    (a scan that is not `current`, done in a worker while events went on, is never put in place itself)."""
    index = idx.index
    ops = index.ops
    assert ops is not None
    quiet.pause()  # compared (and published, and encoded) between scrapes, not beside one
    index.extras = replace(index.extras, corruption=scan.extras.corruption, errors=scan.extras.errors)
    if root_error(scan) is not None:  # the root cannot be listed: say so, and keep what was last seen
        idx.record_scan("reconcile", t0)
        return True
    fresh = {m.key: m for m in scan.models}
    # Models an event already marked for a rescan are not missed events: put right now, not counted.
    pending = idx.schedule.pending_models()
    corrections = 0
    for key in set(fresh) | set(index.models):
        old, new = index.models.get(key), fresh.get(key)
        same = old is not None and new is not None and old.content_view() == new.content_view()
        if same and (ops.layout == "hf-hub" or old.exact_view() == new.exact_view()):  # type: ignore[union-attr]
            continue
        try:
            exact = ops.scan_one(key) if ops.layout == "hf-hub" or not current else new
        except OSError:
            continue
        if apply(idx, key, exact) and key not in pending:
            corrections += 1
    idx.record_scan("reconcile", t0)
    idx.stats.corrections += corrections
    if corrections:
        log.info("reconciliation corrected the index", extra=kv(root=idx.cfg.name, corrections=corrections))
    refresh_store(index, idx.cfg.path)
    return True
