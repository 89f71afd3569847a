"""One pass over a root: every model's access, and the required models' folders. What the exporter's worker
process runs, and what `check` runs in-process."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from modelcache_exporter.access.perms import Who
from modelcache_exporter.access.walk import Access, Walker
from modelcache_exporter.layouts import LOCAL_KEY
from modelcache_exporter.ledger.required import Requirement, Status


@dataclass(frozen=True)
class Place:
    """A required model's folder to check: the requirement's name, the folder (relative to the root) and the
    files it must hold (none: everything in it)."""

    name: str
    rel: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class RootAccess:
    """One pass over a root: the access of each model (by key) and of each required model's place (by name)."""

    models: tuple[Access, ...] = ()
    places: tuple[Access, ...] = ()


#: What the web UI never reads in a hub repo folder: blobs are opened through the snapshots' links (each one
#: a snapshot links to is checked there; an unreferenced blob is never opened), `trees/` is huggingface_hub's
#: listing cache (written 0600 by whoever downloaded; unreadable, it costs one API call, not a download) and
#: `.no_exist/` holds empty markers only tested for existence. A local dir's `.cache/` is its download metadata.
_HUB_SKIP = ("blobs", "trees", ".no_exist")
_HUB_PREFIXES = ("models--", "datasets--", "spaces--", "kernels--")


def skipped(rel: str) -> tuple[str, ...]:
    """The sub-folders of the model folder at `rel` (root-relative) the web UI does not read."""
    if rel == LOCAL_KEY:
        return (".cache",)
    return _HUB_SKIP if os.path.basename(os.path.normpath(rel)).startswith(_HUB_PREFIXES) else ()


def model_base(root: str, key: str) -> str:
    """The folder of model `key` (a root-relative folder; LOCAL_KEY: the root itself)."""
    return os.path.normpath(os.path.join(root, key))


def root_access(root: str, keys: list[str], places: list[Place], uid: int, gids: frozenset[int]) -> RootAccess:
    """Check every model of `keys` and every place under the root at `root` for user `uid` in groups `gids`."""
    walker = Walker(root, Who(uid, gids))
    models = [walker.model(key, model_base(root, key), skip=skipped(key)) for key in keys]
    found = [walker.model(p.name, model_base(root, p.rel), p.files, skip=skipped(p.rel)) for p in places]
    return RootAccess(tuple(models), tuple(found))


def required_places(found: Sequence[Status], required: Sequence[Requirement], root: str) -> list[Place]:
    """The folders of the required models found in root `root`: a hub repo all of it, a folder the files its
    requirement names."""
    reqs = {r.name: r for r in required}
    places = []
    for st in found:
        req = reqs.get(st.name)
        if st.present and st.root == root and req is not None:
            hub = bool(req.hub) and st.where.startswith(("models--", "datasets--", "spaces--"))
            places.append(Place(st.name, st.where, () if hub else req.dir_files))
    return places
