"""Any other tree (IndexTTS2's flat `checkpoints/hf_cache/`, torch hub): one model per top-level entry.

An artifact is a complete file (identity `path:size`: a new size at a known path is an update). A
partial download is `*.incomplete` or rsync's `.<name>.XXXXXX`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from modelcache_exporter.layouts.base import Artifact, Mapper
from modelcache_exporter.layouts.common import gone, raise_unreadable, root_entry, tree_watch_plan
from modelcache_exporter.scan import plain
from modelcache_exporter.scan.detect import Layout
from modelcache_exporter.scan.model import Model, RootScan
from modelcache_exporter.scan.tree import walk_tree

_RSYNC = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9]{6}$")


class PlainLayout:
    """`plain`: a model is a top-level entry, its files are its artifacts."""

    name: Layout = "plain"
    content_addressed = False
    single_model = False
    #: Models are `org/name`, two levels down (ModelScope), not top-level entries.
    nested = False

    def scan_root(self, path: str, name: str, exclude: Iterable[str], links: bool, mapper: Mapper) -> RootScan:
        """Every model (`name` is not used: models are named by their keys; no links are followed)."""
        return plain.scan_plain(path, self.nested, exclude)

    def scan_one(self, path: str, name: str, key: str, exclude: Iterable[str]) -> Model | None:
        """One model's subtree; None when it is gone."""
        if gone(os.path.join(path, key)):
            return None
        return plain.scan_model(path, key, self.nested)

    def list_keys(self, path: str, exclude: Iterable[str]) -> list[str]:
        """The models' keys."""
        return [k for k in plain.list_models(path, self.nested, []) if k not in exclude]

    def key_for_root_event(self, name: str, exclude: Iterable[str]) -> str | None:
        """The entry itself, unless hidden, excluded or `lost+found`."""
        return root_entry(name, exclude)

    def watch_plan(self, path: str, key: str, exclude: Iterable[str]) -> tuple[list[str], list[str]]:
        """Every folder of the model's tree."""
        return tree_watch_plan(path, os.path.join(path, key), exclude)

    def listing_dirs(self, path: str) -> list[str]:
        """None: models appear in the root itself."""
        return []

    def list_artifacts(self, root: str, key: str) -> dict[str, Artifact]:
        """Every file of the model, by `path:size`."""
        if gone(os.path.join(root, key)):
            return {}
        tree = walk_tree(os.path.join(root, key), key, keep_sizes=True)
        raise_unreadable(tree.errors)
        return {
            f"{rel}:{size}": Artifact(os.path.basename(rel), "", os.path.join(root, rel))
            for rel, size in tree.sizes.items()
        }

    def artifact_size(self, root: str, key: str, ident: str) -> int:
        """The size the identity carries."""
        return int(ident.rsplit(":", 1)[1])

    def artifact_path(self, ident: str) -> str:
        """The identity without the size."""
        return ident.rsplit(":", 1)[0]

    def partial_hint(self, path: str) -> str:
        """The final file name: rsync's `.<name>.XXXXXX` or `<name>.incomplete`."""
        name = os.path.basename(path)
        m = _RSYNC.match(name)
        if m:
            return m.group("name")
        return name.rsplit(".", 1)[0] if "." in name else name
