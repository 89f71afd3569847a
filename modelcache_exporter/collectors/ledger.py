"""Downloads seen on disk and their verdict, wipes, partial downloads, required models, ledger health."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import HistogramMetricFamily, Metric

from modelcache_exporter.collectors.families import PREFIX, GaugeTable, Spec, counter, gauge
from modelcache_exporter.collectors.forecast import forecast_families
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.ledger.classify import REASONS
from modelcache_exporter.ledger.monitor import Ledger
from modelcache_exporter.ledger.stats import BUCKETS, RootCounters
from modelcache_exporter.ledger.store import ERROR_KINDS

COUNTS: tuple[Spec, ...] = (
    ("cache_wipes", "A root that lost most of its bytes at once (deleted, volume missing).", lambda c: c.wipes),
    ("artifact_removals", "Artifacts that disappeared from the cache.", lambda c: c.removals),
    ("downloads_started", "Partial downloads seen appearing.", lambda c: c.started),
)
GAUGES: tuple[Spec, ...] = (
    ("downloads_in_progress", "Partial downloads present now (growing or not).", lambda c: c.in_progress),
    ("downloads_stalled", "Partial downloads that have not grown for the stall time.", lambda c: c.stalled),
    (
        "downloads_active",
        "Partial downloads that grew within the stall time: a download really running (alerts wait for these, "
        "never for an abandoned partial file).",
        lambda c: c.in_progress - c.stalled,
    ),
    (
        "download_locks_held",
        "Download lock files held now by some process (another instance sharing the cache makes the others wait).",
        lambda c: c.locks,
    ),
    ("ledger_artifacts", "Artifacts the ledger knows present in the root.", lambda c: c.present_files),
)


def cumulative(counts: list[int]) -> list[tuple[str, float]]:
    """Per-bucket counts -> cumulative (le, count) pairs ending with +Inf."""
    acc, out = 0, []
    for le, n in zip([*map(str, BUCKETS), "+Inf"], counts, strict=True):
        acc += n
        out.append((le, float(acc)))
    return out


class LedgerCollector:
    """`modelcache_download*`, `modelcache_cache_wipes_total`, `modelcache_required_model_*`, `modelcache_next_start_*`,
    `modelcache_ledger_*`."""

    name = "ledger"

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def cache_key(self) -> object:
        """Changes whenever the ledger publishes (every tick) or required models are re-evaluated (the objects
        themselves, not their `id()`: a new one may reuse the id of the one it replaced)."""
        return self.ledger.counters.snapshot.generation, self.ledger.required, self.ledger.forecast

    def collect(self) -> Iterator[Metric]:
        snap = self.ledger.counters.snapshot
        yield from self._downloads(snap.roots)
        yield from self._required()
        yield from forecast_families(self.ledger.forecast, bool(self.ledger.requirements))
        yield from self._health(snap.persistent, snap.errors)

    def _downloads(self, roots: dict[str, RootCounters]) -> Iterator[Metric]:
        r = ["root"]
        downloads = counter(
            "downloads",
            "Artifacts that arrived complete in the cache, by verdict: first (never "
            "seen), new_revision (an update), redownload (seen complete before: unexpected), "
            "synced (a copy with old mtimes: rsync -a, a restore).",
            ["root", "reason"],
        )
        nbytes = counter("download_bytes", "Bytes of those artifacts, by verdict.", ["root", "reason"])
        redl = counter(
            "unexpected_redownloads",
            "Artifacts downloaded again although the cache had them complete "
            "before (cache lost or misplaced), by repo.",
            ["root", "repo"],
        )
        hist = HistogramMetricFamily(
            PREFIX + "download_duration_seconds",
            "From the first partial file seen to the artifact complete (downloads whose start was seen).",
            labels=r,
        )
        counts = [(counter(name, doc, r), get) for name, doc, get in COUNTS]
        gauges = GaugeTable(GAUGES, r)
        for name, c in sorted(roots.items()):
            for reason in REASONS:
                downloads.add_metric([name, reason], c.downloads.get(reason, 0))
                nbytes.add_metric([name, reason], c.bytes.get(reason, 0))
            for repo, n in sorted(c.redownloads.items()):
                redl.add_metric([name, repo], n)
            hist.add_metric([name], cumulative(c.duration_buckets), c.duration_sum)
            for family, get in counts:
                family.add_metric([name], float(get(c) or 0))
            gauges.add([name], c)
        yield from (downloads, nbytes, redl, *self._event_times(roots), hist)
        yield from (*(f for f, _g in counts), *gauges.families())

    @staticmethod
    def _event_times(roots: dict[str, RootCounters]) -> Iterator[Metric]:
        """When each repo was last re-downloaded and each root last wiped: what the alerts page from."""
        last_redl = gauge(
            "last_unexpected_redownload_timestamp_seconds",
            "When the repo was last downloaded again (from the ledger's history: kept across restarts and new "
            "instances of the exporter on the same state directory).",
            ["root", "repo"],
        )
        last_wipe = gauge(
            "last_cache_wipe_timestamp_seconds", "When the root was last wiped (kept across restarts).", ["root"]
        )
        for name, c in sorted(roots.items()):
            for repo, when in sorted(c.last_redownload.items()):
                last_redl.add_metric([name, repo], when)
            if c.last_wipe:
                last_wipe.add_metric([name], c.last_wipe)
        yield from (last_redl, last_wipe)

    def _required(self) -> Iterator[Metric]:
        lab = ["root", "model"]
        present = gauge("required_model_present", "1 if the required model is in a cache root.", lab)
        complete = gauge(
            "required_model_complete",
            "1 if every file of the required model is there (links "
            "resolve, nothing empty) and none is being downloaded.",
            lab,
        )
        missing = gauge("required_model_missing_files", "Files of the required model missing or in progress.", lab)
        for st in self.ledger.required:
            present.add_metric([st.root, st.name], float(st.present))
            complete.add_metric([st.root, st.name], float(st.complete))
            missing.add_metric([st.root, st.name], len(st.missing))
        yield from (present, complete, missing)

    @staticmethod
    def _health(persistent: bool, errors: dict[str, int]) -> Iterator[Metric]:
        up = gauge(
            "ledger_persistent",
            "1 if the ledger is stored on disk (0: kept in memory after an error; "
            "verdicts will not survive a restart).",
        )
        up.add_metric([], float(persistent))
        errs = counter("ledger_errors", "Ledger database failures by kind.", ["kind"])
        for kind in ERROR_KINDS:
            errs.add_metric([kind], errors.get(kind, 0))
        yield from (up, errs)


@register("ledger")
def _ledger(w: Workers) -> LedgerCollector | None:
    """Reads the ledger, when it runs."""
    return LedgerCollector(w.ledger) if w.ledger is not None else None
