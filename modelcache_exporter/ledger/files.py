"""Which file of which revision an artifact is: what the ledger remembers so that, once the artifact is gone,
it can still say exactly what a download would have to fetch again (`forecast`).

- hf-hub: an artifact is a blob named by its etag; the snapshot links of the model name the files that
  use it (`snapshots/<commit>/<path> -> ../../blobs/<etag>`), read once when the model gained an artifact
  or a revision (one `readlink` per entry, as the index's link pass does);
- local-dir, plain, modelscope: the identity holds the file's path; the revision is the one its metadata
  names (local-dir) or none.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from modelcache_exporter.ledger.artifacts import Listing, artifact_path
from modelcache_exporter.scan.hubsnap import walk_revision
from modelcache_exporter.scan.model import ScanError


class FileOf(NamedTuple):
    """A file of a model's revision and the artifact holding its content."""

    revision: str
    path: str  # relative to the model (hf-hub: to the snapshot; other layouts: to the root)
    ident: str


def files_of(root: str, layout: str, key: str, current: Listing) -> list[FileOf]:
    """The files the model's present artifacts are, by revision (hf-hub: only links to a listed blob)."""
    if layout != "hf-hub":
        return [FileOf(seen.revision, artifact_path(ident, layout), ident) for ident, seen in current.items()]
    return linked_files(root, key, frozenset(current))


def linked_files(root: str, key: str, blobs: frozenset[str]) -> list[FileOf]:
    """The files of a hub model's revisions that link to one of `blobs` (read in a worker for a big model:
    it is sent the names only, not the listing)."""
    snaps = os.path.join(root, key, "snapshots")
    try:
        revisions = sorted(e.name for e in os.scandir(snaps) if e.is_dir(follow_symlinks=False))
    except OSError:
        return []
    out: list[FileOf] = []
    for rev in revisions:
        top = os.path.join(snaps, rev)

        def link(path: str, target: str, _depth: int, rev: str = rev, top: str = top) -> None:
            blob = os.path.basename(target)
            if blob in blobs:
                out.append(FileOf(rev, os.path.relpath(path, top), blob))

        errors: list[ScanError] = []
        walk_revision(top, f"{key}/snapshots/{rev}", link, lambda _p, _r: None, errors)
    return out
