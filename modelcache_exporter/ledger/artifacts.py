"""What counts as one downloaded artifact, per layout, and how a partial download names it.

- hf-hub: a complete blob `blobs/<etag>` of a repo (the etag is the identity: content-addressed);
- hf-local-dir: a file with its `.metadata` (identity `path@etag`, revision = the metadata's commit);
- plain/modelscope: a complete file (identity `path:size`; a new size at a known path is an update).

Listing is cheap (one directory read per hub repo); sizes are read only for what is new. A model that
cannot be read now (permission, I/O error) raises OSError: an unreadable folder is not an empty one, and
taking it for one would count every artifact as removed (and, restored, as re-downloaded).
"""

from __future__ import annotations

import errno
import os
import re
from typing import NamedTuple

from modelcache_exporter.ledger.identity import FileId, file_id
from modelcache_exporter.scan import localdir
from modelcache_exporter.scan.model import ScanError
from modelcache_exporter.scan.tree import walk_tree

_RSYNC = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9]{6}$")


class Seen(NamedTuple):
    """An artifact on disk: what a partial download of it carries, its revision, the file holding it."""

    hint: str
    revision: str
    file: FileId


#: ident -> what is on disk. Another file under a known identity means the content was fetched again.
Listing = dict[str, Seen]


def list_artifacts(root: str, layout: str, key: str) -> Listing:
    """The artifacts of model `key` on disk now (none when it is gone). Hint = what a partial download of it
    carries. OSError when the model or its root cannot be read now."""
    try:
        os.lstat(os.path.join(root, key if layout != "hf-local-dir" else localdir.META_DIR))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    if layout == "hf-hub":
        return _hub_blobs(os.path.join(root, key, "blobs"))
    if layout == "hf-local-dir":
        out = {}
        errors: list[ScanError] = []
        metadata = localdir.read_metadata(root, errors)
        _raise_unreadable(errors)
        for rel, (commit, etag) in metadata.items():
            try:
                fid = file_id(os.path.join(root, rel))
            except OSError:
                continue
            out[f"{rel}@{etag}"] = Seen(etag, commit, fid)
        return out
    tree = walk_tree(os.path.join(root, key), key, keep_sizes=True)
    _raise_unreadable(tree.errors)
    out = {}
    for rel, size in tree.sizes.items():
        try:
            fid = file_id(os.path.join(root, rel))
        except OSError:
            continue  # gone since the walk
        out[f"{rel}:{size}"] = Seen(os.path.basename(rel), "", fid)
    return out


def _hub_blobs(bdir: str) -> Listing:
    """Complete blobs with the file holding their content: a blob linked into the shared Xet store is
    followed (publishing a fresh download into the store moves the file, keeping its inode and birth
    time, and leaves a symlink: not a new download)."""
    out: Listing = {}
    try:
        with os.scandir(bdir) as it:
            for e in it:
                if e.name.startswith(".") or e.name.endswith(".incomplete"):
                    continue
                try:
                    fid = file_id(e.path)
                except OSError:
                    continue  # a dangling link: not a complete artifact
                out[e.name] = Seen(e.name, "", fid)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    return out


def _raise_unreadable(errors: list[ScanError]) -> None:
    """An error other than a file vanishing mid-walk means part of the model could not be listed."""
    for e in errors:
        if e.kind not in ("vanished", "not_a_directory"):
            raise OSError(errno.EACCES if e.kind == "permission" else errno.EIO, e.message, e.path)


def artifact_size(root: str, layout: str, key: str, ident: str) -> int:
    """Bytes of one artifact (0 when it vanished meanwhile)."""
    if layout == "hf-hub":
        path = os.path.join(root, key, "blobs", ident)
    elif layout == "hf-local-dir":
        path = os.path.join(root, ident.rsplit("@", 1)[0])
    else:
        return int(ident.rsplit(":", 1)[1])
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def artifact_path(ident: str, layout: str) -> str:
    """The file part of an identity (plain: without the size; local-dir: without the etag)."""
    if layout == "hf-local-dir":
        return ident.rsplit("@", 1)[0]
    if layout in ("plain", "modelscope"):
        return ident.rsplit(":", 1)[0]
    return ident


def partial_hint(path: str, layout: str) -> str:
    """The hint a partial download's name carries: the etag (hub, local-dir) or the final file name."""
    name = os.path.basename(path)
    if layout == "hf-hub":
        return name.split(".", 1)[0]  # <etag>.incomplete or <etag>.<random>.incomplete
    if layout == "hf-local-dir":
        parts = name.split(".")
        return parts[1] if len(parts) >= 3 else parts[0]  # <short hash>.<etag>.incomplete
    m = _RSYNC.match(name)
    if m:
        return m.group("name")
    return name.rsplit(".", 1)[0] if "." in name else name
