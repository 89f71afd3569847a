"""Per-layout knowledge the index needs: model keys, what to watch, what an event means, poll signatures."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable

from modelcache_exporter import scan
from modelcache_exporter.index.watchset import ROOT, dir_signature, hub_repo_dirs, tree_dirs
from modelcache_exporter.scan import hub, plain
from modelcache_exporter.scan.model import Model, RootScan

LIST = "/list"  # event target: a folder above the models changed (re-list the models)
STORE = "/store"  # event target: the shared Xet blob store changed
LOCAL_KEY = "."  # the single model of a local-dir root


class LayoutOps:
    """Operations on one root in one layout."""

    def __init__(self, path: str, layout: str, name: str, exclude: Iterable[str]) -> None:
        self.path, self.layout, self.name = path, layout, name
        self.exclude = tuple(exclude)
        self._excluded = {os.path.join(path, e) for e in self.exclude}

    def list_keys(self) -> list[str]:
        """Model keys on disk now."""
        if self.layout == "hf-local-dir":
            return [LOCAL_KEY] if os.path.isdir(self.path) else []
        try:
            if self.layout == "hf-hub":
                keys = hub.list_repos(self.path, Counter())
            else:
                keys = plain.list_models(self.path, self.layout, [])
        except OSError:
            return []
        return [k for k in keys if k not in self.exclude]

    def key_for_root_event(self, name: str) -> str | None:
        """The model an event in the root folder concerns; LIST to re-list; STORE; None to ignore."""
        if self.layout == "hf-local-dir":
            return LOCAL_KEY
        if self.layout == "modelscope":
            return LIST
        if self.layout == "hf-hub":
            if name == "blobs":
                return STORE
            if hub.parse_repo_dirname(name) is None:
                return None
        if name.startswith(".") or name in self.exclude or name == plain.LOST_FOUND:
            return None
        return name

    def watch_plan(self, key: str) -> tuple[list[str], list[str]]:
        """(folders to watch, folders to stop watching) for one model."""
        if self.layout == "hf-hub":
            return hub_repo_dirs(self.path, key)
        top = self.path if key == LOCAL_KEY else os.path.join(self.path, key)
        if not os.path.isdir(top) or os.path.islink(top):
            return [], []
        return list(tree_dirs(top, skip=lambda p: p in self._excluded)), []

    def listing_dirs(self) -> list[str]:
        """Folders above the models that must be watched to see models appear (besides the root)."""
        if self.layout != "modelscope":
            return []
        out = []
        for top in ("models", "datasets"):
            base = os.path.join(self.path, top)
            if os.path.isdir(base):
                out.append(base)
                out.extend(p for p in (os.path.join(base, d) for d in _listdir(base)) if os.path.isdir(p))
        out.extend(
            p
            for p in (os.path.join(self.path, d) for d in _listdir(self.path))
            if os.path.isdir(p)
            and not os.path.basename(p).startswith(".")
            and p not in out
            and os.path.basename(p) not in ("models", "datasets")
        )
        return out

    def signature(self, key: str) -> tuple[object, ...]:
        """Changes whenever the model's folders gain, lose or rename an entry (for polling)."""
        watch, unwatch = self.watch_plan(key)
        return dir_signature([*watch, *unwatch])

    def listing_signature(self) -> tuple[object, ...]:
        """Changes when models appear or disappear."""
        return dir_signature([self.path, *self.listing_dirs()])

    def scan_all(self, links: bool, mapper: Callable[..., Iterable[Model]] = map) -> RootScan:
        """A full scan; for hf-hub `links=False` is the size pass."""
        return scan.scan_root(self.path, self.layout, self.model_name, self.exclude, links, mapper)

    def scan_one(self, key: str) -> Model | None:
        """An exact rescan of one model; None when it is gone."""
        return scan.scan_one(self.path, self.layout, self.model_name, key, self.exclude)

    @property
    def model_name(self) -> str:
        """The model name reported for a local-dir root."""
        return self.name


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


__all__ = ["LIST", "LOCAL_KEY", "ROOT", "STORE", "LayoutOps"]
