"""Which files of which revision a hub blob is: how `check --verify` names a corrupt blob to people."""

from __future__ import annotations

import os

from modelcache_exporter.scan.hubsnap import walk_revision
from modelcache_exporter.scan.model import ScanError


def blob_files(repo: str) -> dict[str, list[tuple[str, str]]]:
    """{blob name: [(revision, path in the snapshot)]} from the snapshot links of the repo folder `repo`."""
    snaps = os.path.join(repo, "snapshots")
    out: dict[str, list[tuple[str, str]]] = {}
    try:
        revisions = sorted(e.name for e in os.scandir(snaps) if e.is_dir(follow_symlinks=False))
    except OSError:
        return out
    for rev in revisions:
        top = os.path.join(snaps, rev)

        def link(path: str, target: str, _depth: int, rev: str = rev, top: str = top) -> None:
            out.setdefault(os.path.basename(target), []).append((rev, os.path.relpath(path, top)))

        errors: list[ScanError] = []
        walk_revision(top, rev, link, lambda _p, _r: None, errors)
    return out
