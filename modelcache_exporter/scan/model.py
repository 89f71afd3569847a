"""Frozen results of a cache scan.

Scans never raise for what they find on disk: a vanished directory, a permission error or a broken
link becomes data (`ScanError`, counters on `Model`), and the scan goes on. Paths kept here are
relative to the cache root; they are for log lines and `check` output, never for metric labels.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

#: Kinds of `ScanError`, a closed set so that they can be metric label values.
#: `name_too_long`: a path beyond the kernel's PATH_MAX (a folder chain thousands of levels deep), not read further.
ERROR_KINDS = ("permission", "vanished", "not_a_directory", "symlink_loop", "name_too_long", "io_error")
#: Paths in log lines are cut to this many characters (a path can be as long as PATH_MAX).
LOG_PATH_CHARS = 160

#: Kinds of cache corruption counted per model (`Model.corruption`).
CORRUPTION_KINDS = (
    "broken_link",  # a snapshot entry whose blob is missing
    "missing_snapshots",  # a hub repo folder without snapshots/
    "snapshot_is_file",  # a file where a revision folder should be
    "dangling_ref",  # refs/<name> names a commit with no snapshot
    "bad_repo_name",  # a folder in a hub cache that is not <type>s--<org>--<name>
    "external_link",  # a snapshot link pointing out of the cache root (not followed)
)


@dataclass(frozen=True)
class ScanError:
    """One problem met while scanning: `kind` is one of `ERROR_KINDS`, `path` is root-relative."""

    kind: str
    path: str
    message: str

    def short_path(self) -> str:
        """The path for a log line: its start and end when it is longer than `LOG_PATH_CHARS`."""
        if len(self.path) <= LOG_PATH_CHARS:
            return self.path
        half = LOG_PATH_CHARS // 2
        return f"{self.path[:half]}...({len(self.path)} chars)...{self.path[-half:]}"


def error_from_os(exc: OSError, path: str) -> ScanError:
    """Classify an OSError into a `ScanError` kind."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        kind = "permission"
    elif code == errno.ENOENT:
        kind = "vanished"
    elif code == errno.ENOTDIR:
        kind = "not_a_directory"
    elif code == errno.ELOOP:
        kind = "symlink_loop"
    elif code == errno.ENAMETOOLONG:
        kind = "name_too_long"
    else:
        kind = "io_error"
    return ScanError(kind, path, exc.strerror or str(exc))


@dataclass(frozen=True)
class IncompleteFile:
    """A partial download (`*.incomplete`, ModelScope temp file, rsync temp file)."""

    path: str
    size_bytes: int
    allocated_bytes: int
    mtime: float


@dataclass(frozen=True)
class Revision:
    """One snapshot of a repo: `files` entries pointing at blobs of `size_bytes` (each blob once)."""

    commit: str
    refs: tuple[str, ...]
    files: int
    size_bytes: int
    last_modified: float


@dataclass(frozen=True)
class Model:
    """One model (hub repo, local-dir download, or top-level entry of a plain tree).

    `size_bytes` and `files` follow `huggingface_hub.scan_cache_dir` for hub repos: the blobs that
    some snapshot references, each counted once however many revisions share it.
    `local_*` is what this model's own folder holds on disk (its referenced regular blobs, not the
    shared Xet store), so that a root's physical size is the sum of `local_bytes` plus the store.
    """

    key: str
    repo_id: str
    repo_type: str
    size_bytes: int = 0
    allocated_bytes: int = 0
    files: int = 0
    local_files: int = 0
    local_bytes: int = 0
    local_allocated_bytes: int = 0
    revisions: tuple[Revision, ...] = ()
    incomplete: tuple[IncompleteFile, ...] = ()
    unreferenced_files: int = 0
    unreferenced_bytes: int = 0
    blob_files: int = 0
    blob_bytes: int = 0
    no_exist_entries: int = 0
    corruption: tuple[tuple[str, int], ...] = ()
    last_modified: float = 0.0
    errors: tuple[ScanError, ...] = ()
    verified: bool = True
    #: `scan.fingerprint.fingerprint` of the model's complete files (`""` when it has none).
    fingerprint: str = ""

    @property
    def corruption_total(self) -> int:
        """All corruption counts added up."""
        return sum(n for _, n in self.corruption)

    def content_view(self) -> tuple[object, ...]:
        """What both scan passes see alike (blob listing, revisions, refs, partial files).

        A reconciliation compares this between the index and a fresh size pass: equal means
        nothing changed on disk that the index missed.
        """
        revs = tuple((r.commit, r.refs) for r in self.revisions)
        return (self.blob_files, self.blob_bytes, revs, tuple(f.path for f in self.incomplete))

    def exact_view(self) -> tuple[object, ...]:
        """Everything a verified scan derives; a difference after a rescan is a correction."""
        revs = tuple((r.commit, r.refs, r.files, r.size_bytes) for r in self.revisions)
        return (
            self.size_bytes,
            self.files,
            self.local_bytes,
            revs,
            self.corruption,
            self.unreferenced_files,
            self.blob_files,
            self.blob_bytes,
        )


@dataclass(frozen=True)
class RootExtras:
    """Root-level facts that belong to no model."""

    store_files: int = 0
    store_bytes: int = 0
    store_allocated_bytes: int = 0
    incomplete: tuple[IncompleteFile, ...] = ()
    corruption: tuple[tuple[str, int], ...] = ()
    errors: tuple[ScanError, ...] = ()


@dataclass(frozen=True)
class RootScan:
    """A full scan of one cache root."""

    models: tuple[Model, ...]
    extras: RootExtras = field(default_factory=RootExtras)


def count_pairs(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """Sorted `(kind, n)` pairs of non-zero counts, hashable for frozen dataclasses."""
    return tuple(sorted((k, n) for k, n in counts.items() if n))
