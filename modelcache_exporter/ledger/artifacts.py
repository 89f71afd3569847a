"""What counts as one downloaded artifact, per layout, and how a partial download names it.

- hf-hub: a complete blob `blobs/<etag>` of a repo (the etag is the identity: content-addressed);
- hf-local-dir: a file with its `.metadata` (identity `path@etag`, revision = the metadata's commit);
- plain/modelscope: a complete file (identity `path:size`; a new size at a known path is an update).

Each layout's object (`modelcache_exporter.layouts`) knows its artifacts; here each one gets the identity
of the file holding it. Listing is cheap (one directory read per hub repo); sizes are read only for what
is new. A model that cannot be read now (permission, I/O error) raises OSError: an unreadable folder is
not an empty one, and taking it for one would count every artifact as removed (and, restored, as
re-downloaded).
"""

from __future__ import annotations

from typing import NamedTuple

from modelcache_exporter import layouts
from modelcache_exporter.ledger.identity import FileId, file_id_mtime


class Seen(NamedTuple):
    """An artifact on disk: what a partial download of it carries, its revision, the file holding it."""

    hint: str
    revision: str
    file: FileId
    mtime: float = 0.0


#: ident -> what is on disk. Another file under a known identity means the content was fetched again.
Listing = dict[str, Seen]


def list_artifacts(root: str, layout: str, key: str) -> Listing:
    """The artifacts of model `key` on disk now (none when it is gone). Hint = what a partial download of it
    carries. OSError when the model or its root cannot be read now. An artifact whose file cannot be
    stat'ed (gone since it was listed, a dangling link) is not complete: it is left out."""
    out: Listing = {}
    for ident, found in _layout(layout).list_artifacts(root, key).items():
        try:
            fid, mtime = file_id_mtime(found.path)
        except OSError:
            continue
        out[ident] = Seen(found.hint, found.revision, fid, mtime)
    return out


def artifact_size(root: str, layout: str, key: str, ident: str) -> int:
    """Bytes of one artifact (0 when it vanished meanwhile)."""
    return _layout(layout).artifact_size(root, key, ident)


def artifact_path(ident: str, layout: str) -> str:
    """The file part of an identity (plain: without the size; local-dir: without the etag)."""
    return _layout(layout).artifact_path(ident)


def partial_hint(path: str, layout: str) -> str:
    """The hint a partial download's name carries: the etag (hub, local-dir) or the final file name."""
    return _layout(layout).partial_hint(path)


def _layout(name: str) -> layouts.CacheLayout:
    """The layout object; a root whose layout is not known yet (`unknown`: nothing decisive in it) is read as a
    plain tree, so that the models the ledger remembers there are found gone, never an error."""
    return layouts.get(name) if name in layouts.LAYOUT_CLASSES else layouts.get("plain")
