"""Downloads seen on disk and their verdict, wipes, partial downloads, required models, ledger health."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from ..ledger.classify import REASONS
from ..ledger.monitor import Ledger
from ..ledger.stats import BUCKETS
from ..ledger.store import ERROR_KINDS
from .base import PREFIX, gauge


def counter(name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
    """A counter family with our prefix."""
    return CounterMetricFamily(PREFIX + name, doc, labels=labels)


class LedgerCollector:
    """`modelcache_download*`, `modelcache_cache_wipes_total`, `modelcache_required_model_*`, `modelcache_ledger_*`."""

    name = "ledger"

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def cache_key(self) -> object:
        """Changes whenever the ledger publishes (every tick) or required models are re-evaluated."""
        return self.ledger.counters.snapshot.generation, id(self.ledger.required)

    def collect(self) -> Iterator[Metric]:
        snap = self.ledger.counters.snapshot
        r = ["root"]
        downloads = counter("downloads", "Artifacts that arrived complete in the cache, by verdict: first (never "
                            "seen), new_revision (an update), redownload (seen complete before: unexpected).",
                            ["root", "reason"])
        nbytes = counter("download_bytes", "Bytes of those artifacts, by verdict.", ["root", "reason"])
        redl = counter("unexpected_redownloads", "Artifacts downloaded again although the cache had them complete "
                       "before (cache lost or misplaced), by repo.", ["root", "repo"])
        hist = HistogramMetricFamily(PREFIX + "download_duration_seconds", "From the first partial file seen to the "
                                     "artifact complete (downloads whose start was seen).", labels=r)
        wipes = counter("cache_wipes", "A root that lost most of its bytes at once (deleted, volume missing).", r)
        removals = counter("artifact_removals", "Artifacts that disappeared from the cache.", r)
        gauges = {
            "progress": gauge("downloads_in_progress", "Partial downloads present now (growing or not).", r),
            "stalled": gauge("downloads_stalled", "Partial downloads that have not grown for the stall time.", r),
            "locks": gauge("download_locks_held", "Download lock files held now by some process (another instance "
                           "sharing the cache makes the others wait).", r),
            "artifacts": gauge("ledger_artifacts", "Artifacts the ledger knows present in the root.", r),
        }
        started = counter("downloads_started", "Partial downloads seen appearing.", r)
        for name, c in sorted(snap.roots.items()):
            for reason in REASONS:
                downloads.add_metric([name, reason], c.downloads.get(reason, 0))
                nbytes.add_metric([name, reason], c.bytes.get(reason, 0))
            for repo, n in sorted(c.redownloads.items()):
                redl.add_metric([name, repo], n)
            acc, buckets = 0, []
            for le, n in zip([*map(str, BUCKETS), "+Inf"], c.duration_buckets, strict=True):
                acc += n
                buckets.append((le, acc))
            hist.add_metric([name], buckets, c.duration_sum)
            wipes.add_metric([name], c.wipes)
            removals.add_metric([name], c.removals)
            started.add_metric([name], c.started)
            for key, value in (("progress", c.in_progress), ("stalled", c.stalled), ("locks", c.locks),
                               ("artifacts", c.present_files)):
                gauges[key].add_metric([name], value)
        yield from (downloads, nbytes, redl, hist, wipes, removals, started, *gauges.values())
        yield from self._required()
        yield from self._health(snap.persistent, snap.errors)

    def _required(self) -> Iterator[Metric]:
        lab = ["root", "model"]
        present = gauge("required_model_present", "1 if the required model is in a cache root.", lab)
        complete = gauge("required_model_complete", "1 if every file of the required model is there (links "
                         "resolve, nothing empty) and none is being downloaded.", lab)
        missing = gauge("required_model_missing_files", "Files of the required model missing or in progress.", lab)
        for st in self.ledger.required:
            present.add_metric([st.root, st.name], float(st.present))
            complete.add_metric([st.root, st.name], float(st.complete))
            missing.add_metric([st.root, st.name], len(st.missing))
        yield from (present, complete, missing)

    @staticmethod
    def _health(persistent: bool, errors: dict[str, int]) -> Iterator[Metric]:
        up = gauge("ledger_persistent", "1 if the ledger is stored on disk (0: kept in memory after an error; "
                   "verdicts will not survive a restart).")
        up.add_metric([], float(persistent))
        errs = counter("ledger_errors", "Ledger database failures by kind.", ["kind"])
        for kind in ERROR_KINDS:
            errs.add_metric([kind], errors.get(kind, 0))
        yield from (up, errs)
