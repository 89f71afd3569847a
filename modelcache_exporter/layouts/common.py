"""Pieces that several layouts share: which root entries can be models, the watches of a folder tree, and
how a model that cannot be read is told from one that is gone."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Iterator

from modelcache_exporter.scan import plain
from modelcache_exporter.scan.model import ScanError


def root_entry(name: str, exclude: Iterable[str]) -> str | None:
    """A root entry as a model key: None for hidden entries, excluded ones (nested roots) and `lost+found`."""
    if name.startswith(".") or name in exclude or name == plain.LOST_FOUND:
        return None
    return name


def tree_dirs(top: str, skip: Callable[[str], bool] = lambda _p: False) -> Iterator[str]:
    """Every folder under `top` (itself included), not following symlinks."""
    stack = [top]
    while stack:
        path = stack.pop()
        if skip(path):
            continue
        yield path
        try:
            with os.scandir(path) as it:
                stack.extend(e.path for e in it if e.is_dir(follow_symlinks=False))
        except OSError:
            continue


def tree_watch_plan(root: str, top: str, exclude: Iterable[str]) -> tuple[list[str], list[str]]:
    """Watch every folder of the model's tree at `top` (not a link), none of the excluded nested roots."""
    if not os.path.isdir(top) or os.path.islink(top):
        return [], []
    excluded = {os.path.join(root, e) for e in exclude}
    return list(tree_dirs(top, skip=lambda p: p in excluded)), []


def gone(path: str) -> bool:
    """Whether nothing is at `path` (a permission error propagates: what is there may well be)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    return False


def raise_unreadable(errors: list[ScanError]) -> None:
    """An error other than a file vanishing mid-walk means part of the model could not be listed."""
    for e in errors:
        if e.kind not in ("vanished", "not_a_directory"):
            raise OSError(errno.EACCES if e.kind == "permission" else errno.EIO, e.message, e.path)
