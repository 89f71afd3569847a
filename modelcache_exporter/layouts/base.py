"""What a cache layout is: the protocol every layout class follows, and the names its answers use.

A layout object holds no state of its own: each method is told the root (and the model key) it works on,
so one object serves every root in that layout. A model key is the model's root-relative folder
(`models--org--name`, `org/name`, `.` for the single model of a local-dir root).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple, Protocol

from modelcache_exporter.scan.detect import Layout
from modelcache_exporter.scan.model import Model, RootScan

LIST = "/list"  # event target: a folder above the models changed (re-list the models)
STORE = "/store"  # event target: the shared Xet blob store changed
LOCAL_KEY = "."  # the single model of a local-dir root

#: Scans models, in parallel or not: called like `map(scan_one_model, keys)`.
Mapper = Callable[..., Iterable[Model]]


class Artifact(NamedTuple):
    """One downloaded artifact on disk: what a partial download of it carries, its revision ("" when the
    layout names none), and the file holding its content."""

    hint: str
    revision: str
    path: str


class CacheLayout(Protocol):
    """How one layout lays out models on disk, and what counts as one of its downloaded artifacts."""

    @property
    def name(self) -> Layout:
        """The layout's configured name (`hf-hub`, ...)."""

    @property
    def content_addressed(self) -> bool:
        """An artifact is a blob named by its etag, shared by the revisions that use it (hf-hub)."""

    @property
    def single_model(self) -> bool:
        """The whole root is one model, keyed LOCAL_KEY and named by the root's configured model name."""

    def scan_root(self, path: str, name: str, exclude: Iterable[str], links: bool, mapper: Mapper) -> RootScan:
        """Scan every model of the root; `name` names a single-model root's model, `links=False` is the
        hub's size pass (snapshot links not read)."""

    def scan_one(self, path: str, name: str, key: str, exclude: Iterable[str]) -> Model | None:
        """Rescan one model exactly; None when it is gone; OSError when the root cannot be searched."""

    def list_keys(self, path: str, exclude: Iterable[str]) -> list[str]:
        """Model keys on disk now, without the excluded ones; OSError when the root cannot be listed."""

    def key_for_root_event(self, name: str, exclude: Iterable[str]) -> str | None:
        """The model an event on root entry `name` concerns; LIST to re-list; STORE; None to ignore."""

    def watch_plan(self, path: str, key: str, exclude: Iterable[str]) -> tuple[list[str], list[str]]:
        """(folders to watch, folders to stop watching) for one model."""

    def listing_dirs(self, path: str) -> list[str]:
        """Folders above the models that must be watched to see models appear (besides the root)."""

    def list_artifacts(self, root: str, key: str) -> dict[str, Artifact]:
        """identity -> artifact of model `key` on disk now (empty when it is gone); OSError when the model
        cannot be read now. The files are not stat'ed: one that vanished is the caller's to skip."""

    def artifact_size(self, root: str, key: str, ident: str) -> int:
        """Bytes of one artifact (0 when it vanished meanwhile)."""

    def artifact_path(self, ident: str) -> str:
        """The file part of an identity (what stays the same when a new revision of the file arrives)."""

    def partial_hint(self, path: str) -> str:
        """What the name of a partial download at `path` carries: the artifact it will become."""
