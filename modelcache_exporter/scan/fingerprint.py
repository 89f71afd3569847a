"""A model's content fingerprint: equal on two hosts exactly when they hold the same files.

The digest covers the sorted (model-relative path, size, content identity) list, where the content
identity is the blob's hash name (hub) or the local-dir etag when the layout has one, else the
whole-second mtime (which `rsync -a` keeps). Inode numbers and paths above the root never enter it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

#: Hex digits kept of the sha256: short enough for a label, long enough never to collide in a fleet.
FINGERPRINT_CHARS = 16


def fingerprint(entries: Iterable[tuple[str, int, str]]) -> str:
    """The digest of `(path, size, identity)` entries, in any order; `""` for no files."""
    items = sorted(entries)
    if not items:
        return ""
    text = "".join([f"{path}\0{size}\0{ident}\n" for path, size, ident in items])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:FINGERPRINT_CHARS]


def mtime_identity(mtime: float) -> str:
    """The content identity of a file with no hash: its mtime in whole seconds."""
    return str(int(mtime))
