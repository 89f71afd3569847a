"""Walking plain directory trees without following symlinks (shared by the local-dir and plain layouts)."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from modelcache_exporter.scan.model import IncompleteFile, ScanError, error_from_os

#: rsync writes `.<name>.XXXXXX` next to the file it receives, then renames it into place.
RSYNC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")
#: Suffixes of partial downloads: huggingface_hub, browsers/wget/aria2, generic temp files.
TEMP_SUFFIXES = (".incomplete", ".part", ".partial", ".tmp", ".aria2", ".crdownload")
#: Linux refuses a path of this many bytes or more (with its NUL it would not fit in PATH_MAX).
PATH_MAX = 4096
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def is_temp_name(name: str) -> bool:
    """Whether a file name is a partial download or a transfer in progress."""
    return name.endswith(TEMP_SUFFIXES) or bool(RSYNC_TEMP.match(name))


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
    #: `(path relative to the walked top, size, whole-second mtime)` of each complete file, for the fingerprint.
    idents: list[tuple[str, int, int]] = field(default_factory=list)

    def add(self, rel: str, st: os.stat_result, keep_sizes: bool) -> None:
        """Count one complete regular file."""
        self.files += 1
        self.size_bytes += st.st_size
        self.allocated_bytes += st.st_blocks * 512
        self.last_modified = max(self.last_modified, st.st_mtime)
        self.idents.append((rel, st.st_size, int(st.st_mtime)))
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
    """Walk `top` (root-relative name `rel`); `skip(rel)` prunes entries. A file `top` counts as itself.

    A folder whose path reaches PATH_MAX is not read (a `name_too_long` error, as the kernel would refuse
    the path). Going down, the next folder is opened relative to its parent's descriptor, so that a chain
    thousands of levels deep costs one lookup per level, not one per level per level."""
    out = TreeStats()
    try:
        st = os.lstat(top)
    except OSError as exc:
        out.errors.append(error_from_os(exc, rel))
        return out
    if not stat.S_ISDIR(st.st_mode):
        _count(out, os.path.basename(top), rel, st, keep_sizes, is_temp)
        return out
    stack: list[tuple[str, str, int | None]] = [(top, rel, None)]
    while stack:
        path, rpath, fd = stack.pop()
        try:
            if fd is None:
                fd = _open_dir(path, None)
            dirs = _list_dir(out, fd, rpath, skip, keep_sizes, is_temp)
            _push(stack, [(os.path.join(path, n), f"{rpath}/{n}" if rpath else n) for n in dirs], fd, out)
        except OSError as exc:
            out.errors.append(error_from_os(exc, rpath))
        finally:
            if fd is not None:
                os.close(fd)
    return out


def _push(stack: list[tuple[str, str, int | None]], dirs: list[tuple[str, str]], fd: int, out: TreeStats) -> None:
    """Queue subfolders (path, rel); the one walked next is opened now from its parent's descriptor `fd`."""
    stack.extend((path, rel, None) for path, rel in dirs[:-1])
    if dirs:
        path, rel = dirs[-1]
        try:
            stack.append((path, rel, _open_dir(path, fd)))
        except OSError as exc:
            out.errors.append(error_from_os(exc, rel))


def _open_dir(path: str, parent: int | None) -> int:
    """A descriptor of the folder at `path` (opened by name relative to `parent` when given), never
    through a symlink; ENAMETOOLONG when `path` reaches PATH_MAX."""
    if len(os.fsencode(path)) >= PATH_MAX:
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), path)
    name = os.path.basename(path) if parent is not None else path
    return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _list_dir(
    out: TreeStats, fd: int, rpath: str, skip: Callable[[str], bool], keep_sizes: bool, is_temp: Callable[[str], bool]
) -> list[str]:
    """Count the files of one open folder; the names of its subfolders (not links, not skipped)."""
    dirs = []
    with os.scandir(fd) as it:
        for e in it:
            erel = f"{rpath}/{e.name}" if rpath else e.name
            if skip(erel) or e.is_symlink():
                continue
            if e.is_dir(follow_symlinks=False):
                dirs.append(e.name)
            else:
                _count(out, e.name, erel, e.stat(follow_symlinks=False), keep_sizes, is_temp)
    return dirs


def _count(
    out: TreeStats, name: str, rel: str, st: os.stat_result, keep_sizes: bool, is_temp: Callable[[str], bool]
) -> None:
    if not stat.S_ISREG(st.st_mode):
        return
    if is_temp(name):
        out.incomplete.append(IncompleteFile(rel, st.st_size, st.st_blocks * 512, st.st_mtime))
    else:
        out.add(rel, st, keep_sizes)
