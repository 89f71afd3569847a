"""What worker processes run: parts of a pass over a hub root, several repos in flight per process.

Kept apart from the index (whose package imports the whole worker machinery): a spawned worker imports
only this, the layouts and the scans, and is ready in a fraction of the time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from modelcache_exporter.base.threads import map_adaptive
from modelcache_exporter.layouts.hub import HubLayout
from modelcache_exporter.scan import hub
from modelcache_exporter.scan.hubsnap import single_snapshot_match
from modelcache_exporter.scan.model import Model

_HUB = HubLayout()
#: A first repo that took longer than this is read from a cold disk: the rest of the part goes in threads.
COLD_SECONDS = 0.05


@dataclass(frozen=True)
class LinkRead:
    """One repo's exact report (`model` None: the repo is gone), or `failed`: it could not be read now (the
    root cannot be searched), and its size pass report stands."""

    key: str
    model: Model | None
    failed: bool = False
    #: the repo has the common shape: (its one commit, its blobs), and its size pass report is exact as it is
    confirmed: tuple[str, int] | None = None


def size_part(root: str, keys: list[str], store: str | None) -> list[Model]:
    """The size pass of `keys` of the hub cache `root` (no snapshot link read)."""
    return map_adaptive(lambda k: hub.scan_repo(root, k, store, links=False), keys, COLD_SECONDS)


def read_one(root: str, key: str) -> LinkRead:
    """One repo of the hub cache `root`, links and all (no `stat` for a repo of the common shape)."""
    match = single_snapshot_match(os.path.join(root, key))
    if match is not None:
        return LinkRead(key, None, confirmed=match)
    try:
        return LinkRead(key, _HUB.scan_one(root, "", key, ()))
    except OSError:
        return LinkRead(key, None, failed=True)


def link_part(root: str, keys: list[str]) -> list[LinkRead]:
    """The link pass of `keys` of the hub cache `root`."""
    return map_adaptive(lambda k: read_one(root, k), keys, COLD_SECONDS)
