"""One class per cache layout (module per layout), behind the `CacheLayout` protocol (module `base`).

`get(name)` gives the layout object of a configured layout name; `scan_root` and `scan_one` scan a root
or one of its models in the layout named. A new layout is one new module, registered in LAYOUT_CLASSES
(and named in `scan.detect.LAYOUTS`).
"""

from __future__ import annotations

from collections.abc import Iterable

from modelcache_exporter.layouts.base import LIST, LOCAL_KEY, STORE, Artifact, CacheLayout, Mapper
from modelcache_exporter.layouts.hub import HubLayout
from modelcache_exporter.layouts.localdir import LocalDirLayout
from modelcache_exporter.layouts.modelscope import ModelScopeLayout
from modelcache_exporter.layouts.plain import PlainLayout
from modelcache_exporter.scan.detect import LAYOUTS, Layout
from modelcache_exporter.scan.model import Model, RootScan

LAYOUT_CLASSES: dict[Layout, type[CacheLayout]] = {
    "hf-hub": HubLayout,
    "hf-local-dir": LocalDirLayout,
    "plain": PlainLayout,
    "modelscope": ModelScopeLayout,
}
_OBJECTS: dict[str, CacheLayout] = {name: cls() for name, cls in LAYOUT_CLASSES.items()}


def get(name: str) -> CacheLayout:
    """The layout object of layout `name`; ValueError when `name` is no layout (`unknown`, a typo)."""
    try:
        return _OBJECTS[name]
    except KeyError:
        raise ValueError(f"no such layout: {name!r} (one of {', '.join(LAYOUTS)})") from None


def scan_root(
    path: str,
    layout: str,
    name: str,
    exclude: Iterable[str] = (),
    links: bool = True,
    mapper: Mapper = map,
) -> RootScan:
    """Scan a whole root in its layout. `name` names the model of a local-dir root."""
    return get(layout).scan_root(path, name, exclude, links, mapper)


def scan_one(path: str, layout: str, name: str, key: str, exclude: Iterable[str] = ()) -> Model | None:
    """Rescan one model (exactly, links read) after a change; None when it is gone; OSError when the root
    cannot be searched (permission), which says nothing about the model."""
    return get(layout).scan_one(path, name, key, exclude)


__all__ = [
    "LAYOUT_CLASSES",
    "LIST",
    "LOCAL_KEY",
    "STORE",
    "Artifact",
    "CacheLayout",
    "get",
    "scan_one",
    "scan_root",
]
