"""Pure scans of model cache roots, one module per layout, returning frozen dataclasses.

`scan_root` and `scan_one` dispatch on the layout; `detect_layout` (module `detect`) tells it from what
is on disk, or says `unknown`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from modelcache_exporter.scan import hub, localdir, plain
from modelcache_exporter.scan.detect import LAYOUTS, UNKNOWN, Layout, detect_layout
from modelcache_exporter.scan.model import Model, RootScan
from modelcache_exporter.scan.store import store_path

__all__ = ["LAYOUTS", "UNKNOWN", "Layout", "Model", "RootScan", "detect_layout", "scan_one", "scan_root"]


def scan_root(
    path: str,
    layout: str,
    name: str,
    exclude: Iterable[str] = (),
    links: bool = True,
    mapper: Callable[..., Iterable[Model]] = map,
) -> RootScan:
    """Scan a whole root in its layout. `name` names the model of a local-dir root."""
    if layout == "hf-hub":
        return hub.scan_root(path, exclude, links, mapper)
    if layout == "hf-local-dir":
        return localdir.scan_local_dir(path, name, exclude)
    return plain.scan_plain(path, layout, exclude)


def scan_one(path: str, layout: str, name: str, key: str, exclude: Iterable[str] = ()) -> Model | None:
    """Rescan one model (exactly, links read) after a change; None when it is gone; OSError when the root
    cannot be searched (permission), which says nothing about the model."""
    if layout == "hf-local-dir":
        return scan_root(path, layout, name, exclude).models[0]
    try:
        os.lstat(os.path.join(path, key))
    except (FileNotFoundError, NotADirectoryError):
        return None  # gone (a permission error propagates: the model may well be there)
    if layout == "hf-hub":
        if hub.parse_repo_dirname(key) is None:
            return None
        return hub.scan_repo(path, key, store_path(path), links=True)
    return plain.scan_model(path, key, layout)
