"""huggingface_hub 2.x's cache-wide shared blob store.

Xet downloads land in `<cache>/blobs/<2-hex>/<xet_hash>` (a regular file, counted once here) and
each repo's `blobs/<etag>` becomes a relative symlink into it. The store is only trusted when its
marker file `<cache>/blobs/.huggingface-shared-blobs` holds the layout version, as the library does.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass

from modelcache_exporter.scan.model import ScanError, error_from_os
from modelcache_exporter.scan.safeio import read_head, safe_dir

STORE_DIR = "blobs"
STORE_MARKER = ".huggingface-shared-blobs"
STORE_LAYOUT_VERSION = "1\n"
_HASH = re.compile(r"[0-9a-f]{64}")
_PREFIX = re.compile(r"[0-9a-f]{2}")


@dataclass(frozen=True)
class StoreScan:
    """Payload files of the shared store (manifests, locks and marker excluded)."""

    path: str
    files: int
    size_bytes: int
    allocated_bytes: int


def store_path(root: str) -> str | None:
    """Path of the marked shared store under a hub cache root, or None if there is none."""
    path = os.path.join(root, STORE_DIR)
    if not safe_dir(root, path):
        return None  # a store that is a link out of the cache root is not followed
    try:
        marker = read_head(os.path.join(path, STORE_MARKER), 16, root)
    except OSError:
        return None
    return path if marker == STORE_LAYOUT_VERSION.encode() else None


def scan_store(root: str, errors: list[ScanError]) -> StoreScan | None:
    """Count and size every payload `<store>/<xx>/<hash>`; None when the cache has no marked store."""
    path = store_path(root)
    if path is None:
        return None
    files = size = alloc = 0
    try:
        prefixes = [e for e in os.scandir(path) if _PREFIX.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError as exc:
        errors.append(error_from_os(exc, STORE_DIR))
        return StoreScan(path, 0, 0, 0)
    for pdir in prefixes:
        try:
            with os.scandir(pdir.path) as it:
                for e in it:
                    if not (_HASH.fullmatch(e.name) and e.name.startswith(pdir.name)):
                        continue
                    st = e.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode):
                        files += 1
                        size += st.st_size
                        alloc += st.st_blocks * 512
        except OSError as exc:
            errors.append(error_from_os(exc, f"{STORE_DIR}/{pdir.name}"))
    return StoreScan(path, files, size, alloc)
