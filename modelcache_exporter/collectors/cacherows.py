"""What the cache collector shows, as data: its families (`ROOT_TABLE`, `MODEL_TABLE`) and the block of
rows a root or a model gives them (`collectors.rows`). The models beyond the cap are summed as one
`repo="(other)"`."""

from __future__ import annotations

from modelcache_exporter.collectors.families import PREFIX, Spec
from modelcache_exporter.collectors.rows import Block, Decl, Row
from modelcache_exporter.index.state import RootState
from modelcache_exporter.scan.model import CORRUPTION_KINDS, ERROR_KINDS, Model

OTHER = "(other)"

ROOTS: tuple[Spec, ...] = (
    ("root_present", "1 if the cache root exists and is a directory.", lambda s: s.present),
    (
        "root_size_bytes",
        "Apparent bytes of complete files under the root, each physical file once (shared Xet "
        "store included); equals scan_cache_dir's size_on_disk.",
        lambda s: s.size_bytes,
    ),
    (
        "root_allocated_bytes",
        "Bytes allocated on disk for those files (sparse files differ).",
        lambda s: s.allocated_bytes,
    ),
    ("root_files", "Complete files under the root, each physical file once.", lambda s: s.files),
    ("root_models", "Models (hub repos, local dirs, top-level entries) under the root.", lambda s: len(s.models)),
    ("root_incomplete_files", "Partial downloads under the root.", lambda s: len(s.incomplete)),
    ("root_incomplete_bytes", "Bytes written so far by partial downloads.", lambda s: s.incomplete_bytes),
    ("root_unreferenced_files", "Complete blobs no snapshot points to.", lambda s: s.unreferenced_files),
    ("root_unreferenced_bytes", "Bytes of unreferenced blobs (reclaimable).", lambda s: s.unreferenced_bytes),
    ("root_shared_store_files", "Files in huggingface_hub's shared Xet blob store.", lambda s: s.extras.store_files),
    ("root_shared_store_bytes", "Bytes in huggingface_hub's shared Xet blob store.", lambda s: s.extras.store_bytes),
)
MODELS: tuple[Spec, ...] = (
    (
        "model_size_bytes",
        "Bytes of the files the model's snapshots reference, each blob once (scan_cache_dir's "
        "size_on_disk for hub repos).",
        lambda m: m.size_bytes,
    ),
    ("model_allocated_bytes", "Bytes allocated on disk for those files.", lambda m: m.allocated_bytes),
    ("model_files", "Files of the model (distinct blobs for hub repos).", lambda m: m.files),
    ("model_revisions", "Revisions (snapshots) of the model in the cache.", lambda m: len(m.revisions)),
    ("model_incomplete_files", "Partial downloads of the model.", lambda m: len(m.incomplete)),
    (
        "model_incomplete_bytes",
        "Bytes written so far by the model's partial downloads.",
        lambda m: sum(f.size_bytes for f in m.incomplete),
    ),
    (
        "model_corruptions",
        "Corrupt entries of the model (broken links, dangling refs...).",
        lambda m: m.corruption_total,
    ),
    ("model_last_modified_timestamp_seconds", "Newest modification time of its files.", lambda m: m.last_modified),
)


def capped(models: tuple[Model, ...], limit: int) -> tuple[list[Model], list[Model]]:
    """The `limit` largest models, and the rest (summed as repo="(other)")."""
    if len(models) <= limit:
        return list(models), []
    ranked = sorted(models, key=lambda m: (-m.size_bytes, m.key))
    return sorted(ranked[:limit], key=lambda m: m.key), ranked[limit:]


class Other:
    """The models beyond the cap, added up, read by the same specs as one model."""

    def __init__(self, rest: list[Model]) -> None:
        self.size_bytes = sum(m.size_bytes for m in rest)
        self.allocated_bytes = sum(m.allocated_bytes for m in rest)
        self.files = sum(m.files for m in rest)
        self.revisions = [r for m in rest for r in m.revisions]
        self.incomplete = [f for m in rest for f in m.incomplete]
        self.corruption_total = sum(m.corruption_total for m in rest)
        self.last_modified = max(m.last_modified for m in rest)


def _decls(specs: tuple[Spec, ...], labels: tuple[str, ...]) -> list[Decl]:
    return [Decl(PREFIX + name, doc, labels) for name, doc, _get in specs]


ROOT_LABELS = ("root",)
MODEL_LABELS = ("root", "repo", "repo_type")
ROOT_TABLE = (
    Decl(
        PREFIX + "root_info",
        "A cache root: its path, its layout (unknown until configured or detected), where the layout came "
        "from (configured, detected - remembered across wipes and restarts - or unknown), and where the root "
        "was configured.",
        ("root", "path", "layout", "layout_source", "origin"),
    ),
    *_decls(ROOTS, ROOT_LABELS),
    Decl(
        PREFIX + "root_incomplete_oldest_timestamp_seconds",
        "Last modification time of the stalest partial download (absent when there is none).",
        ROOT_LABELS,
    ),
    Decl(PREFIX + "root_corruptions", "Corrupt cache entries by kind (e.g. broken snapshot links).", ("root", "kind")),
    Decl(
        PREFIX + "root_scan_errors",
        "Entries the index could not read, by kind, as of the last scans.",
        ("root", "kind"),
    ),
)
MODEL_TABLE = (
    *_decls(MODELS, MODEL_LABELS),
    Decl(
        PREFIX + "model_revision_info",
        "A revision present in the cache, with the refs pointing at it (compare across hosts to find drift).",
        ("root", "repo", "repo_type", "revision", "refs"),
    ),
    Decl(
        PREFIX + "model_fingerprint_info",
        "A digest of the model's files (path, size, hash or mtime): equal across hosts that hold the same files.",
        ("root", "repo", "repo_type", "fingerprint"),
    ),
)


def _spec_rows(specs: tuple[Spec, ...], labels: tuple[str, ...], obj: object) -> list[tuple[Row, ...]]:
    """One row per spec whose value `obj` has (none where the spec reads None)."""
    out: list[tuple[Row, ...]] = []
    for _name, _doc, get in specs:
        value = get(obj)
        out.append(((labels, float(value)),) if value is not None else ())
    return out


def root_block(s: RootState) -> Block:
    """What one root gives `ROOT_TABLE`."""
    name = (s.name,)
    oldest: tuple[Row, ...] = ((name, min(f.mtime for f in s.incomplete)),) if s.incomplete else ()
    corruption, errors = dict(s.corruption), dict(s.errors)
    return (
        (((s.name, s.path, s.layout, s.layout_source, s.origin), 1.0),),
        *_spec_rows(ROOTS, name, s),
        oldest,
        tuple(((s.name, kind), float(corruption.get(kind, 0))) for kind in CORRUPTION_KINDS),
        tuple(((s.name, kind), float(errors.get(kind, 0))) for kind in ERROR_KINDS),
    )


def model_block(root: str, m: Model | Other, repo_id: str, repo_type: str) -> Block:
    """What one model (or the models beyond the cap, as `Other`) gives `MODEL_TABLE`."""
    labels = (root, repo_id, repo_type)
    revisions = () if isinstance(m, Other) else tuple(((*labels, r.commit, ",".join(r.refs)), 1.0) for r in m.revisions)
    fingerprint = () if isinstance(m, Other) or not m.fingerprint else (((*labels, m.fingerprint), 1.0),)
    return (*_spec_rows(MODELS, labels, m), revisions, fingerprint)


def shown_block(root: str, m: Model) -> Block:
    return model_block(root, m, m.repo_id, m.repo_type)


def other_block(root: str, other: Other) -> Block:
    return model_block(root, other, OTHER, "")
