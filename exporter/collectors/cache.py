"""Cache sizes per root and per model, from the in-memory index (no filesystem access)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from ..index.state import RootState
from ..scan.model import CORRUPTION_KINDS, ERROR_KINDS, Model
from .base import gauge

OTHER = "(other)"


def capped(models: tuple[Model, ...], limit: int) -> tuple[list[Model], list[Model]]:
    """The `limit` largest models, and the rest (summed as repo="(other)")."""
    if len(models) <= limit:
        return list(models), []
    ranked = sorted(models, key=lambda m: (-m.size_bytes, m.key))
    return sorted(ranked[:limit], key=lambda m: m.key), ranked[limit:]


class CacheCollector:
    """`modelcache_root_*` and `modelcache_model_*`."""

    name = "cache"

    def __init__(self, states: Callable[[], tuple[RootState, ...]], max_models: int = 200) -> None:
        self.states, self.max_models = states, max_models

    def cache_key(self) -> object:
        """Changes whenever any root publishes a new index state."""
        return tuple((s.name, s.generation) for s in self.states())

    def collect(self) -> Iterator[Metric]:
        states = self.states()
        yield from self._roots(states)
        yield from self._models(states)

    def _roots(self, states: tuple[RootState, ...]) -> Iterator[Metric]:
        r = ["root"]
        info = gauge(
            "root_info",
            "A cache root: its path, layout, and where it was configured.",
            ["root", "path", "layout", "origin"],
        )
        fams = {
            "present": gauge("root_present", "1 if the cache root exists and is a directory.", r),
            "size": gauge(
                "root_size_bytes",
                "Apparent bytes of complete files under the root, each physical "
                "file once (shared Xet store included); equals scan_cache_dir's size_on_disk.",
                r,
            ),
            "alloc": gauge("root_allocated_bytes", "Bytes allocated on disk for those files (sparse files differ).", r),
            "files": gauge("root_files", "Complete files under the root, each physical file once.", r),
            "models": gauge("root_models", "Models (hub repos, local dirs, top-level entries) under the root.", r),
            "inc_files": gauge("root_incomplete_files", "Partial downloads under the root.", r),
            "inc_bytes": gauge("root_incomplete_bytes", "Bytes written so far by partial downloads.", r),
            "unref_files": gauge("root_unreferenced_files", "Complete blobs no snapshot points to.", r),
            "unref_bytes": gauge("root_unreferenced_bytes", "Bytes of unreferenced blobs (reclaimable).", r),
            "store_files": gauge("root_shared_store_files", "Files in huggingface_hub's shared Xet blob store.", r),
            "store_bytes": gauge("root_shared_store_bytes", "Bytes in huggingface_hub's shared Xet blob store.", r),
        }
        oldest = gauge(
            "root_incomplete_oldest_timestamp_seconds",
            "Last modification time of the stalest partial download (absent when there is none).",
            r,
        )
        corrupt = gauge(
            "root_corruptions", "Corrupt cache entries by kind (e.g. broken snapshot links).", ["root", "kind"]
        )
        errors = gauge(
            "root_scan_errors", "Entries the index could not read, by kind, as of the last scans.", ["root", "kind"]
        )
        for s in states:
            info.add_metric([s.name, s.path, s.layout, s.origin], 1)
            lab = [s.name]
            for key, value in (
                ("present", s.present),
                ("size", s.size_bytes),
                ("alloc", s.allocated_bytes),
                ("files", s.files),
                ("models", len(s.models)),
                ("inc_files", len(s.incomplete)),
                ("inc_bytes", s.incomplete_bytes),
                ("unref_files", s.unreferenced_files),
                ("unref_bytes", s.unreferenced_bytes),
                ("store_files", s.extras.store_files),
                ("store_bytes", s.extras.store_bytes),
            ):
                fams[key].add_metric(lab, float(value))
            if s.incomplete:
                oldest.add_metric(lab, min(f.mtime for f in s.incomplete))
            for kind in CORRUPTION_KINDS:
                corrupt.add_metric([s.name, kind], dict(s.corruption).get(kind, 0))
            for kind in ERROR_KINDS:
                errors.add_metric([s.name, kind], dict(s.errors).get(kind, 0))
        yield info
        yield from fams.values()
        yield from (oldest, corrupt, errors)

    def _models(self, states: tuple[RootState, ...]) -> Iterator[Metric]:
        lab = ["root", "repo", "repo_type"]
        fams = {
            "size": gauge(
                "model_size_bytes",
                "Bytes of the files the model's snapshots reference, each blob "
                "once (scan_cache_dir's size_on_disk for hub repos).",
                lab,
            ),
            "alloc": gauge("model_allocated_bytes", "Bytes allocated on disk for those files.", lab),
            "files": gauge("model_files", "Files of the model (distinct blobs for hub repos).", lab),
            "revs": gauge("model_revisions", "Revisions (snapshots) of the model in the cache.", lab),
            "inc_files": gauge("model_incomplete_files", "Partial downloads of the model.", lab),
            "inc_bytes": gauge("model_incomplete_bytes", "Bytes written so far by the model's partial downloads.", lab),
            "corrupt": gauge(
                "model_corruptions", "Corrupt entries of the model (broken links, dangling refs...).", lab
            ),
            "modified": gauge("model_last_modified_timestamp_seconds", "Newest modification time of its files.", lab),
        }
        rev = gauge(
            "model_revision_info",
            "A revision present in the cache, with the refs pointing at it (compare across hosts to find drift).",
            ["root", "repo", "repo_type", "revision", "refs"],
        )
        for s in states:
            shown, rest = capped(s.models, self.max_models)
            for m in shown:
                self._model(fams, [s.name, m.repo_id, m.repo_type], m)
                for r in m.revisions:
                    rev.add_metric([s.name, m.repo_id, m.repo_type, r.commit, ",".join(r.refs)], 1)
            if rest:
                self._other(fams, [s.name, OTHER, ""], rest)
        yield from fams.values()
        yield rev

    @staticmethod
    def _model(fams: dict[str, GaugeMetricFamily], lab: list[str], m: Model) -> None:
        for key, value in (
            ("size", m.size_bytes),
            ("alloc", m.allocated_bytes),
            ("files", m.files),
            ("revs", len(m.revisions)),
            ("inc_files", len(m.incomplete)),
            ("inc_bytes", sum(f.size_bytes for f in m.incomplete)),
            ("corrupt", m.corruption_total),
            ("modified", m.last_modified),
        ):
            fams[key].add_metric(lab, float(value))

    @staticmethod
    def _other(fams: dict[str, GaugeMetricFamily], lab: list[str], rest: list[Model]) -> None:
        for key, value in (
            ("size", sum(m.size_bytes for m in rest)),
            ("alloc", sum(m.allocated_bytes for m in rest)),
            ("files", sum(m.files for m in rest)),
            ("revs", sum(len(m.revisions) for m in rest)),
            ("inc_files", sum(len(m.incomplete) for m in rest)),
            ("inc_bytes", sum(f.size_bytes for m in rest for f in m.incomplete)),
            ("corrupt", sum(m.corruption_total for m in rest)),
            ("modified", max(m.last_modified for m in rest)),
        ):
            fams[key].add_metric(lab, float(value))
