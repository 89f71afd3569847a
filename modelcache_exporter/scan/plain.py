"""Scan of any other tree: ModelScope (`models/<org>/<name>`), IndexTTS2's flat `checkpoints/hf_cache/`,
torch hub. One model per top-level entry, or per `<org>/<name>` for ModelScope.

Partial files (`*.incomplete`, rsync's `.<name>.XXXXXX`, ModelScope's `._____temp/` folder) are
reported as incomplete, never as model bytes. Symlinks are not followed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from modelcache_exporter.scan.fingerprint import fingerprint
from modelcache_exporter.scan.model import IncompleteFile, Model, RootExtras, RootScan, ScanError, error_from_os
from modelcache_exporter.scan.tree import walk_tree

MODELSCOPE_TEMP = "._____temp"
LOST_FOUND = "lost+found"  # fsck's folder at the top of an ext4 volume: never a model


def list_models(root: str, nested: bool, errors: list[ScanError]) -> list[str]:
    """Root-relative keys of the models under `root`: top-level entries (not hidden, not `lost+found`), or
    when `nested` (ModelScope) `[models/]org/name`."""
    try:
        top = sorted(e.name for e in os.scandir(root) if not e.name.startswith(".") and e.name != LOST_FOUND)
    except OSError as exc:
        errors.append(error_from_os(exc, ""))
        return []
    if not nested:
        return top
    keys: list[str] = []
    for org in top:
        base = os.path.join(root, org)
        if not os.path.isdir(base) or os.path.islink(base):
            keys.append(org)
            continue
        if org in ("models", "datasets"):
            keys.extend(f"{org}/{k}" for k in list_models(base, nested, errors))
            continue
        try:
            keys.extend(f"{org}/{e.name}" for e in os.scandir(base) if not e.name.startswith("."))
        except OSError as exc:
            errors.append(error_from_os(exc, org))
    return sorted(keys)


def repo_id_for(key: str, nested: bool) -> str:
    """`models/iic/foo` -> `iic/foo` for nested (ModelScope) keys; the key itself otherwise."""
    if nested and key.split("/", 1)[0] in ("models", "datasets") and key.count("/") >= 2:
        return key.split("/", 1)[1]
    return key


def scan_model(root: str, key: str, nested: bool) -> Model:
    """Walk one model's subtree."""
    tree = walk_tree(os.path.join(root, key), key)
    kind = "dataset" if key.startswith("datasets/") else "model"
    return Model(
        key=key,
        repo_id=repo_id_for(key, nested),
        repo_type=kind,
        size_bytes=tree.size_bytes,
        allocated_bytes=tree.allocated_bytes,
        files=tree.files,
        local_files=tree.files,
        local_bytes=tree.size_bytes,
        local_allocated_bytes=tree.allocated_bytes,
        incomplete=tuple(sorted(tree.incomplete, key=lambda f: f.path)),
        last_modified=tree.last_modified,
        errors=tuple(tree.errors),
        fingerprint=fingerprint((r[len(key) + 1 :], n, str(t)) for r, n, t in tree.idents),
    )


def scan_temp(root: str) -> tuple[IncompleteFile, ...]:
    """Everything in ModelScope's temp folder is a download in progress."""
    tree = walk_tree(os.path.join(root, MODELSCOPE_TEMP), MODELSCOPE_TEMP, is_temp=lambda _n: True)
    return tuple(tree.incomplete)


def scan_plain(root: str, nested: bool = False, exclude: Iterable[str] = ()) -> RootScan:
    """Scan every model of a plain tree, or with `nested` of a ModelScope tree."""
    errors: list[ScanError] = []
    skip = set(exclude)
    keys = [k for k in list_models(root, nested, errors) if k not in skip]
    models = tuple(scan_model(root, k, nested) for k in keys)
    return RootScan(models, RootExtras(incomplete=scan_temp(root), errors=tuple(errors)))
