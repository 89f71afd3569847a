"""Per-layout knowledge the index needs, for one root: model keys, what to watch, what an event means,
poll signatures. The layout's own rules are its layout object (`modelcache_exporter.layouts`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from modelcache_exporter import layouts
from modelcache_exporter.index.watchset import ROOT, dir_signature
from modelcache_exporter.layouts import LIST, LOCAL_KEY, STORE
from modelcache_exporter.scan.model import Model, RootScan


class LayoutOps:
    """Operations on one root in one layout; `kind` is the layout object."""

    def __init__(self, path: str, layout: str, name: str, exclude: Iterable[str]) -> None:
        self.path, self.layout, self.name = path, layout, name
        self.exclude = tuple(exclude)
        self.kind = layouts.get(layout)

    def list_keys(self) -> list[str]:
        """Model keys on disk now (none while the root cannot be listed)."""
        try:
            return self.kind.list_keys(self.path, self.exclude)
        except OSError:
            return []

    def key_for_root_event(self, name: str) -> str | None:
        """The model an event in the root folder concerns; LIST to re-list; STORE; None to ignore."""
        return self.kind.key_for_root_event(name, self.exclude)

    def watch_plan(self, key: str) -> tuple[list[str], list[str]]:
        """(folders to watch, folders to stop watching) for one model."""
        return self.kind.watch_plan(self.path, key, self.exclude)

    def listing_dirs(self) -> list[str]:
        """Folders above the models that must be watched to see models appear (besides the root)."""
        return self.kind.listing_dirs(self.path)

    def signature(self, key: str) -> tuple[object, ...]:
        """Changes whenever the model's folders gain, lose or rename an entry (for polling)."""
        watch, unwatch = self.watch_plan(key)
        return dir_signature([*watch, *unwatch])

    def listing_signature(self) -> tuple[object, ...]:
        """Changes when models appear or disappear."""
        return dir_signature([self.path, *self.listing_dirs()])

    def scan_all(self, links: bool, mapper: Callable[..., Iterable[Model]] = map) -> RootScan:
        """A full scan; for hf-hub `links=False` is the size pass."""
        return self.kind.scan_root(self.path, self.model_name, self.exclude, links, mapper)

    def scan_one(self, key: str) -> Model | None:
        """An exact rescan of one model; None when it is gone."""
        return self.kind.scan_one(self.path, self.model_name, key, self.exclude)

    @property
    def model_name(self) -> str:
        """The model name reported for a local-dir root."""
        return self.name


__all__ = ["LIST", "LOCAL_KEY", "ROOT", "STORE", "LayoutOps"]
