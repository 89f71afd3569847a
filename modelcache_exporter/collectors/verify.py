"""Offline verification of cached files against their own hash (`integrity.verifier`): `modelcache_verify_*`
per root and `modelcache_model_{verified,corrupt,unverifiable}_*` per model.

Alert on `modelcache_model_corrupt_files > 0`: a file's content no longer matches the hash that names it
(a cut copy, a disk error); the web UI fails to load it or downloads it again. Read from the verifier's
published snapshot and the index's (for the repo labels), never from disk.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from modelcache_exporter.collectors.families import counter, gauge
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.index import CacheIndex
from modelcache_exporter.integrity.verifier import RootVerification, Verifier
from modelcache_exporter.ledger.monitor import Ledger

MODEL = ["root", "repo", "repo_type"]


class VerifyCollector:
    """`modelcache_verify_*` and the per-model verification gauges."""

    name = "verify"

    def __init__(self, verifier: Verifier, index: CacheIndex, ledger: Ledger | None) -> None:
        self.verifier, self.index, self.ledger = verifier, index, ledger

    def collect(self) -> Iterator[Metric]:
        snapshot = self.verifier.snapshot()
        yield from self._models(snapshot)
        yield from self._required(snapshot)

    def _required(self, snapshot: tuple[RootVerification, ...]) -> Iterator[Metric]:
        """`modelcache_required_model_corrupt_files`: the corrupt files of each required model found."""
        if self.ledger is None or not self.ledger.required:
            return
        corrupt = gauge(
            "required_model_corrupt_files",
            "Files of the required model whose content does not match their hash (where it was found): "
            "the web UI fails to load it, or downloads it again.",
            ["root", "model"],
        )
        results = {(r.name, m.key): m for r in snapshot for m in r.models}
        for st in self.ledger.required:
            found = results.get((st.root, st.where)) if st.present else None
            if found is not None:
                corrupt.add_metric([st.root, st.name], len(found.corrupt))
        yield corrupt

    def _models(self, snapshot: tuple[RootVerification, ...]) -> Iterator[Metric]:
        """The per-root progress and the per-model gauges."""
        labels = {(s.name, m.key): (m.repo_id, m.repo_type) for s in self.index.states() for m in s.models}
        progress = gauge(
            "verify_progress_ratio",
            "Share of the root's models verified in the current pass (1 between passes).",
            ["root"],
        )
        last = gauge(
            "verify_last_pass_timestamp_seconds",
            "When the last full verification pass over the root ended (absent before the first).",
            ["root"],
        )
        hashed = counter(
            "verify_hashed_bytes",
            "Bytes read and hashed by verification (files unchanged since their verdict are not read again).",
            ["root"],
        )
        files = gauge(
            "model_verified_files",
            "Files of the model whose content matches the hash that names it (blob name or local-dir etag).",
            MODEL,
        )
        size = gauge("model_verified_bytes", "Bytes of the model's files whose content matches their hash.", MODEL)
        corrupt = gauge(
            "model_corrupt_files",
            "Files of the model whose content does not match the hash that names them: alert on > 0.",
            MODEL,
        )
        other = gauge(
            "model_unverifiable_files",
            "Files of the model with no hash to check them against (plain layouts, non-hash etags).",
            MODEL,
        )
        unread = gauge(
            "model_unverified_files",
            "Files of the model that could not be read, or changed while being read, in the last pass.",
            MODEL,
        )
        for root in snapshot:
            progress.add_metric([root.name], root.progress)
            if root.last_pass:
                last.add_metric([root.name], root.last_pass)
            hashed.add_metric([root.name], root.hashed_bytes)
            for m in root.models:
                if (root.name, m.key) not in labels:
                    continue
                key = [root.name, *labels[(root.name, m.key)]]
                files.add_metric(key, m.files)
                size.add_metric(key, m.bytes)
                corrupt.add_metric(key, len(m.corrupt))
                other.add_metric(key, m.unverifiable)
                unread.add_metric(key, m.unreadable)
        yield from (progress, last, hashed, files, size, corrupt, other, unread)


@register("verify")
def _verify(w: Workers) -> VerifyCollector | None:
    """Reads the verifier, when it runs."""
    return VerifyCollector(w.verifier, w.index, w.ledger) if w.verifier is not None and w.index is not None else None
