"""Offline verification of cached files against their own hash (`integrity.verifier`): `modelcache_verify_*`
per root and `modelcache_model_{verified,corrupt,unverifiable}_*` per model.

Alert on `modelcache_model_corrupt_files > 0`: a file's content no longer matches the hash that names it
(a cut copy, a disk error); the web UI fails to load it or downloads it again. Read from the verifier's
published snapshot and the index's (for the repo labels), never from disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import Metric

from modelcache_exporter.collectors.encoding import encode
from modelcache_exporter.collectors.families import PREFIX, counter, gauge, text_labels
from modelcache_exporter.collectors.registry import Workers, per_model_key, register
from modelcache_exporter.collectors.rows import Block, BlockTable, Decl, Item
from modelcache_exporter.index import CacheIndex
from modelcache_exporter.integrity.run import ModelResult
from modelcache_exporter.integrity.verifier import RootVerification, Verifier
from modelcache_exporter.ledger.monitor import Ledger

MODEL = ("root", "repo", "repo_type")


MODEL_TABLE = (
    Decl(
        PREFIX + "model_verified_files",
        "Files of the model whose content matches the hash that names it (blob name or local-dir etag).",
        MODEL,
    ),
    Decl(PREFIX + "model_verified_bytes", "Bytes of the model's files whose content matches their hash.", MODEL),
    Decl(
        PREFIX + "model_corrupt_files",
        "Files of the model whose content does not match the hash that names them: alert on > 0.",
        MODEL,
    ),
    Decl(
        PREFIX + "model_unverifiable_files",
        "Files of the model with no hash to check them against (plain layouts, non-hash etags).",
        MODEL,
    ),
    Decl(
        PREFIX + "model_unverified_files",
        "Files of the model that could not be read, or changed while being read, in the last pass.",
        MODEL,
    ),
)


class VerifyCollector:
    """`modelcache_verify_*` and the per-model verification gauges (encoded model by model, `rows.BlockTable`)."""

    name = "verify"

    def __init__(self, verifier: Verifier, index: CacheIndex, ledger: Ledger | None) -> None:
        self.verifier, self.index, self.ledger = verifier, index, ledger
        self._table = BlockTable(MODEL_TABLE)

    def cache_key(self) -> object:
        """Changes when the verifier publishes, the index does (repo labels), or required models are re-evaluated."""
        return per_model_key(self.verifier.generation, self.index, self.ledger)

    def collect(self) -> Iterator[Metric]:
        snapshot = self.verifier.snapshot()
        yield from _root_families(snapshot)
        yield from self._table.families(self._items(snapshot))
        yield from self._required(snapshot)

    def exposition(self) -> Callable[[bool], bytes]:
        """The encoder of the current snapshot (both formats encode the same one)."""
        snapshot = self.verifier.snapshot()

        def encode_now(om: bool) -> bytes:
            models = self._table.encode(self._items(snapshot), om)
            return (
                encode(text_labels(_root_families(snapshot)), om)
                + models
                + encode(text_labels(self._required(snapshot)), om)
            )

        return encode_now

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

    def _items(self, snapshot: tuple[RootVerification, ...]) -> Iterator[Item]:
        """Each verified model still in the index, with the index's repo labels."""
        labels = {(s.name, m.key): (m.repo_id, m.repo_type) for s in self.index.states() for m in s.models}
        for root in snapshot:
            for m in root.models:
                if (root.name, m.key) in labels:
                    key = (root.name, *labels[(root.name, m.key)])
                    yield (root.name, m.key), (key, m), _block


def _block(item: tuple[tuple[str, ...], ModelResult]) -> Block:
    """What one model's result gives `MODEL_TABLE` (its labels: root, repo, repo_type)."""
    key, m = item
    return tuple(((key, float(v)),) for v in (m.files, m.bytes, len(m.corrupt), m.unverifiable, m.unreadable))


def _root_families(snapshot: tuple[RootVerification, ...]) -> list[Metric]:
    """Progress, last pass and bytes hashed, per root."""
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
    for root in snapshot:
        progress.add_metric([root.name], root.progress)
        if root.last_pass:
            last.add_metric([root.name], root.last_pass)
        hashed.add_metric([root.name], root.hashed_bytes)
    return [progress, last, hashed]


@register("verify")
def _verify(w: Workers) -> VerifyCollector | None:
    """Reads the verifier, when it runs."""
    return VerifyCollector(w.verifier, w.index, w.ledger) if w.verifier is not None and w.index is not None else None
