"""The Hugging Face hub cache (`<cache>/models--org--name/{blobs,refs,snapshots}`), content-addressed.

An artifact is a complete blob `blobs/<etag>` of a repo: the etag is its identity, shared by every
revision that uses the file. A partial download is `blobs/<etag>[.<random>].incomplete`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable

from modelcache_exporter.layouts.base import STORE, Artifact, Mapper
from modelcache_exporter.layouts.common import gone, root_entry
from modelcache_exporter.scan import hub
from modelcache_exporter.scan.detect import Layout
from modelcache_exporter.scan.model import Model, RootScan
from modelcache_exporter.scan.store import store_path


class HubLayout:
    """`hf-hub`: one model per repo folder, blobs shared by its revisions, an optional shared Xet store."""

    name: Layout = "hf-hub"
    content_addressed = True
    single_model = False

    def scan_root(self, path: str, name: str, exclude: Iterable[str], links: bool, mapper: Mapper) -> RootScan:
        """Every repo (`name` is not used: repos name themselves)."""
        return hub.scan_root(path, exclude, links, mapper)

    def scan_one(self, path: str, name: str, key: str, exclude: Iterable[str]) -> Model | None:
        """One repo, links read; None when it is gone or `key` is no repo folder name."""
        if gone(os.path.join(path, key)) or hub.parse_repo_dirname(key) is None:
            return None
        return hub.scan_repo(path, key, store_path(path), links=True)

    def list_keys(self, path: str, exclude: Iterable[str]) -> list[str]:
        """Repo folder names."""
        return [k for k in hub.list_repos(path, Counter()) if k not in exclude]

    def key_for_root_event(self, name: str, exclude: Iterable[str]) -> str | None:
        """A repo folder; STORE for the shared `blobs/` store; None for anything else."""
        if name == "blobs":
            return STORE
        if hub.parse_repo_dirname(name) is None:
            return None
        return root_entry(name, exclude)

    def watch_plan(self, path: str, key: str, exclude: Iterable[str]) -> tuple[list[str], list[str]]:
        """`blobs/` and `snapshots/`; the repo folder itself only until both exist."""
        repo = os.path.join(path, key)
        wanted = [os.path.join(repo, "blobs"), os.path.join(repo, "snapshots")]
        if all(os.path.isdir(p) for p in wanted):
            return wanted, [repo]
        return [repo, *wanted], []

    def listing_dirs(self, path: str) -> list[str]:
        """None: repos appear in the root itself."""
        return []

    def list_artifacts(self, root: str, key: str) -> dict[str, Artifact]:
        """Complete blobs by etag. The file of a blob linked into the shared Xet store is the link (stat'ed,
        it is followed: publishing a fresh download into the store moves the file, keeping its inode and
        birth time, and leaves a symlink, which is not a new download)."""
        if gone(os.path.join(root, key)):
            return {}
        out: dict[str, Artifact] = {}
        try:
            with os.scandir(os.path.join(root, key, "blobs")) as it:
                for e in it:
                    if not e.name.startswith(".") and not e.name.endswith(".incomplete"):
                        out[e.name] = Artifact(e.name, "", e.path)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        return out

    def artifact_size(self, root: str, key: str, ident: str) -> int:
        """The blob's size."""
        try:
            return os.stat(os.path.join(root, key, "blobs", ident)).st_size
        except OSError:
            return 0

    def artifact_path(self, ident: str) -> str:
        """The etag itself."""
        return ident

    def partial_hint(self, path: str) -> str:
        """The etag of `<etag>.incomplete` or `<etag>.<random>.incomplete`."""
        return os.path.basename(path).split(".", 1)[0]
