"""Which folders of a root are watched, and the fall back to polling when watching fails."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from modelcache_exporter.base.log import kv
from modelcache_exporter.index.rootmodels import RootModels
from modelcache_exporter.index.schedule import Tick
from modelcache_exporter.index.watch import WatchLimitReached
from modelcache_exporter.index.watchset import ROOT, WatchSet

if TYPE_CHECKING:
    from modelcache_exporter.index.rootcore import RootCore

log = logging.getLogger(__name__)


def setup_watches(idx: RootCore) -> str:
    """Watch the root, its listing folders and every model's folders; the mode this gives."""
    ops = idx.index.ops
    assert ops is not None
    if idx.watcher is None:
        return "poll"
    if idx.index.watches is None:
        idx.index.watches = WatchSet(idx.watcher, idx.events.report, idx.settings.max_watches)
    watches = idx.index.watches
    try:
        watches.watch(idx.cfg.path, ROOT)
        for d in ops.listing_dirs():
            watches.watch(d, "/list")
        for key in ops.list_keys():
            ensure_watches(idx.index, key)
    except (WatchLimitReached, OSError) as exc:
        return fall_back(idx, str(exc))
    return "inotify"


def fall_back(idx: RootCore, why: str) -> str:
    """Stop watching this root and poll it instead (watch limit, inotify error)."""
    idx.index.clear_watches()
    idx.index.watches = None
    idx.stats.fallbacks += 1
    log.warning(
        "cannot watch cache root (%s); polling every %.0fs instead",
        why,
        idx.settings.poll,
        extra=kv(root=idx.cfg.name),
    )
    idx.schedule.at(Tick.POLL, time.monotonic())
    idx.status = replace(idx.status, mode="poll")
    return "poll"


def ensure_watches(index: RootModels, key: str) -> None:
    """Watch the folders of one model (raises WatchLimitReached)."""
    if index.watches is None or index.ops is None:
        return
    watch, unwatch = index.ops.watch_plan(key)
    for d in watch:
        index.watches.watch(d, key)
    for d in unwatch:
        index.watches.unwatch(d)
