"""Which folders of a root are watched, and the fall back to polling when watching fails."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from modelcache_exporter.base.log import kv
from modelcache_exporter.index.watch import WatchLimitReached
from modelcache_exporter.index.watchset import ROOT, WatchSet

if TYPE_CHECKING:
    from modelcache_exporter.index.root import RootIndex

log = logging.getLogger(__name__)


def setup_watches(idx: RootIndex) -> str:
    assert idx._ops is not None
    if idx.watcher is None:
        return "poll"
    if idx._watches is None:
        idx._watches = WatchSet(idx.watcher, idx.events.report, idx.settings.max_watches)
    try:
        idx._watches.watch(idx.cfg.path, ROOT)
        for d in idx._ops.listing_dirs():
            idx._watches.watch(d, "/list")
        for key in idx._ops.list_keys():
            ensure_watches(idx, key)
    except (WatchLimitReached, OSError) as exc:
        return fall_back(idx, str(exc))
    return "inotify"


def fall_back(idx: RootIndex, why: str) -> str:
    """Stop watching this root and poll it instead (watch limit, inotify error)."""
    if idx._watches is not None:
        idx._watches.clear()
        idx._watches = None
    idx.stats.fallbacks += 1
    log.warning(
        "cannot watch cache root (%s); polling every %.0fs instead",
        why,
        idx.settings.poll,
        extra=kv(root=idx.cfg.name),
    )
    idx._next["poll"] = time.monotonic()
    idx._status = replace(idx._status, mode="poll")
    return "poll"


def ensure_watches(idx: RootIndex, key: str) -> None:
    """Watch the folders of one model (raises WatchLimitReached)."""
    if idx._watches is None or idx._ops is None:
        return
    watch, unwatch = idx._ops.watch_plan(key)
    for d in watch:
        idx._watches.watch(d, key)
    for d in unwatch:
        idx._watches.unwatch(d)
