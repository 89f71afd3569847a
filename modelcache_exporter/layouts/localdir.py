"""A `--local-dir` download (such as IndexTTS2's `checkpoints/`): the whole root is one model.

An artifact is a file with its `.metadata` under `.cache/huggingface/download/` (identity `path@etag`,
revision = the metadata's commit). A partial download is `<short hash>.<etag>.incomplete` there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from modelcache_exporter.layouts.base import LOCAL_KEY, Artifact, Mapper
from modelcache_exporter.layouts.common import gone, raise_unreadable, tree_watch_plan
from modelcache_exporter.scan import localdir
from modelcache_exporter.scan.detect import Layout
from modelcache_exporter.scan.model import Model, RootScan, ScanError


class LocalDirLayout:
    """`hf-local-dir`: one model, keyed LOCAL_KEY, named by the root's configured model name."""

    name: Layout = "hf-local-dir"
    content_addressed = False
    single_model = True

    def scan_root(self, path: str, name: str, exclude: Iterable[str], links: bool, mapper: Mapper) -> RootScan:
        """The one model, named `name` (there are no links to read and nothing to run in parallel)."""
        return localdir.scan_local_dir(path, name, exclude)

    def scan_one(self, path: str, name: str, key: str, exclude: Iterable[str]) -> Model | None:
        """The one model, whatever `key`."""
        return localdir.scan_local_dir(path, name, exclude).models[0]

    def list_keys(self, path: str, exclude: Iterable[str]) -> list[str]:
        """LOCAL_KEY while the folder is there."""
        return [LOCAL_KEY] if os.path.isdir(path) else []

    def key_for_root_event(self, name: str, exclude: Iterable[str]) -> str | None:
        """Anything in the root concerns the one model."""
        return LOCAL_KEY

    def watch_plan(self, path: str, key: str, exclude: Iterable[str]) -> tuple[list[str], list[str]]:
        """Every folder of the tree."""
        return tree_watch_plan(path, path if key == LOCAL_KEY else os.path.join(path, key), exclude)

    def listing_dirs(self, path: str) -> list[str]:
        """None: the model is the root."""
        return []

    def list_artifacts(self, root: str, key: str) -> dict[str, Artifact]:
        """Every file with readable metadata, by `path@etag`."""
        if gone(os.path.join(root, localdir.META_DIR)):
            return {}
        errors: list[ScanError] = []
        metadata = localdir.read_metadata(root, errors)
        raise_unreadable(errors)
        return {
            f"{rel}@{etag}": Artifact(etag, commit, os.path.join(root, rel)) for rel, (commit, etag) in metadata.items()
        }

    def artifact_size(self, root: str, key: str, ident: str) -> int:
        """The file's size."""
        try:
            return os.stat(os.path.join(root, self.artifact_path(ident))).st_size
        except OSError:
            return 0

    def artifact_path(self, ident: str) -> str:
        """The identity without the etag."""
        return ident.rsplit("@", 1)[0]

    def partial_hint(self, path: str) -> str:
        """The etag of `<short hash>.<etag>.incomplete`."""
        parts = os.path.basename(path).split(".")
        return parts[1] if len(parts) >= 3 else parts[0]
