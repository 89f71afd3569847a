"""Walking plain directory trees without following symlinks (shared by the local-dir and plain layouts)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from modelcache_exporter.scan.model import IncompleteFile, ScanError, error_from_os

#: rsync writes `.<name>.XXXXXX` next to the file it receives, then renames it into place.
_RSYNC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")
#: Suffixes of partial downloads: huggingface_hub, browsers/wget/aria2, generic temp files.
TEMP_SUFFIXES = (".incomplete", ".part", ".partial", ".tmp", ".aria2", ".crdownload")


def is_temp_name(name: str) -> bool:
    """Whether a file name is a partial download or a transfer in progress."""
    return name.endswith(TEMP_SUFFIXES) or bool(_RSYNC_TEMP.match(name))


@dataclass
class TreeStats:
    """Aggregates of a walked tree: complete files, partial files, problems."""

    files: int = 0
    size_bytes: int = 0
    allocated_bytes: int = 0
    last_modified: float = 0.0
    incomplete: list[IncompleteFile] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    inodes: dict[str, int] = field(default_factory=dict)

    def add(self, rel: str, st: os.stat_result, keep_sizes: bool) -> None:
        """Count one complete regular file."""
        self.files += 1
        self.size_bytes += st.st_size
        self.allocated_bytes += st.st_blocks * 512
        self.last_modified = max(self.last_modified, st.st_mtime)
        if keep_sizes:
            self.sizes[rel] = st.st_size
            self.inodes[rel] = st.st_ino


def walk_tree(
    top: str,
    rel: str,
    skip: Callable[[str], bool] = lambda _rel: False,
    keep_sizes: bool = False,
    is_temp: Callable[[str], bool] = is_temp_name,
) -> TreeStats:
    """Walk `top` (root-relative name `rel`); `skip(rel)` prunes entries. A file `top` counts as itself."""
    out = TreeStats()
    try:
        st = os.lstat(top)
    except OSError as exc:
        out.errors.append(error_from_os(exc, rel))
        return out
    if not stat.S_ISDIR(st.st_mode):
        _count(out, os.path.basename(top), rel, st, keep_sizes, is_temp)
        return out
    stack = [(top, rel)]
    while stack:
        path, rpath = stack.pop()
        try:
            with os.scandir(path) as it:
                for e in it:
                    erel = f"{rpath}/{e.name}" if rpath else e.name
                    if skip(erel) or e.is_symlink():
                        continue
                    if e.is_dir(follow_symlinks=False):
                        stack.append((e.path, erel))
                    else:
                        _count(out, e.name, erel, e.stat(follow_symlinks=False), keep_sizes, is_temp)
        except OSError as exc:
            out.errors.append(error_from_os(exc, rpath))
    return out


def _count(
    out: TreeStats, name: str, rel: str, st: os.stat_result, keep_sizes: bool, is_temp: Callable[[str], bool]
) -> None:
    if not stat.S_ISREG(st.st_mode):
        return
    if is_temp(name):
        out.incomplete.append(IncompleteFile(rel, st.st_size, st.st_blocks * 512, st.st_mtime))
    else:
        out.add(rel, st, keep_sizes)
