"""Whether the web UI's user (`--collector.required.readable-by`) can read the cache (`access.checker`):
`modelcache_model_unreadable_{files,folders}` per model, `modelcache_required_model_unreadable_*` per
required model, and when each root was last checked.

Alert on `modelcache_required_model_unreadable_files + modelcache_required_model_unreadable_folders > 0`:
the files are there, but the web UI (another uid) cannot open them and downloads the model again at its
next start. Read from the checker's published snapshot and the index's (for the repo labels), never disk.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from modelcache_exporter.access.checker import AccessChecker, RootReadable
from modelcache_exporter.collectors.families import gauge
from modelcache_exporter.collectors.registry import Workers, per_model_key, register
from modelcache_exporter.index import CacheIndex
from modelcache_exporter.ledger.monitor import Ledger

MODEL = ["root", "repo", "repo_type"]
_WHAT = "the web UI's user (--collector.required.readable-by) cannot"


class ReadableCollector:
    """`modelcache_readable_last_check_timestamp_seconds` and the unreadable counts."""

    name = "readable"

    def __init__(self, checker: AccessChecker, index: CacheIndex, ledger: Ledger | None) -> None:
        self.checker, self.index, self.ledger = checker, index, ledger

    def cache_key(self) -> object:
        """Changes when the checker publishes, the index does (repo labels), or required models are re-evaluated."""
        return per_model_key(self.checker.generation, self.index, self.ledger)

    def collect(self) -> Iterator[Metric]:
        snapshot = self.checker.snapshot()
        last = gauge(
            "readable_last_check_timestamp_seconds",
            "When the last check of the root for the web UI's user ended (absent before the first).",
            ["root"],
        )
        for root in snapshot:
            last.add_metric([root.name], root.checked)
        yield last
        yield from self._models(snapshot)
        yield from self._required(snapshot)

    def _models(self, snapshot: tuple[RootReadable, ...]) -> Iterator[Metric]:
        labels = {(s.name, m.key): (m.repo_id, m.repo_type) for s in self.index.states() for m in s.models}
        files, folders = _pair("model", MODEL, "of the model")
        for root in snapshot:
            for a in root.access.models:
                if (root.name, a.key) in labels:
                    key = [root.name, *labels[(root.name, a.key)]]
                    files.add_metric(key, a.unreadable_files)
                    folders.add_metric(key, a.unreadable_folders)
        yield from (files, folders)

    def _required(self, snapshot: tuple[RootReadable, ...]) -> Iterator[Metric]:
        """The required models found, by where they were found."""
        if self.ledger is None or not self.ledger.required:
            return
        files, folders = _pair("required_model", ["root", "model"], "of the required model (where it was found)")
        found = {(r.name, a.key): a for r in snapshot for a in r.access.places}
        for st in self.ledger.required:
            a = found.get((st.root, st.name)) if st.present else None
            if a is not None:
                files.add_metric([st.root, st.name], a.unreadable_files)
                folders.add_metric([st.root, st.name], a.unreadable_folders)
        yield from (files, folders)


def _pair(prefix: str, labels: list[str], of: str) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        gauge(
            f"{prefix}_unreadable_files",
            f"Files {of} that {_WHAT} open (owner, mode bits, POSIX ACL; links followed).",
            labels,
        ),
        gauge(
            f"{prefix}_unreadable_folders",
            f"Folders {of}, or on the way to its files, that {_WHAT} list or pass through.",
            labels,
        ),
    )


@register("readable")
def _readable(w: Workers) -> ReadableCollector | None:
    """Reads the access checker, when `--collector.required.readable-by` is set."""
    if w.readable is None or w.index is None:
        return None
    return ReadableCollector(w.readable, w.index, w.ledger)
