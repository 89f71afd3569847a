"""The scrape: every enabled collector runs under a timer and an exception guard, so one broken
source never blanks a scrape (node_exporter's `node_scrape_collector_*` pattern).

Encoding the text is most of a scrape's cost (a 1,000-model cache is ~2,000 samples: ~10 ms in the
text format, ~17 ms in OpenMetrics). A source whose data carries a version (`cache_key()`, e.g. the
index's generation numbers) is encoded once per version and its bytes are reused until it changes; a source
whose collection or encoding fails says `success 0` for that scrape, and nothing of the failure is kept. Label
values go through `base.names.label_text` (a file name that is not UTF-8 is shown escaped, never a failed scrape).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from modelcache_exporter.base.log import kv
from modelcache_exporter.collectors.encoding import OM_EOF, Cached, encode, gz_member
from modelcache_exporter.collectors.families import PREFIX, gauge, text_labels
from modelcache_exporter.collectors.flight import SingleFlight

log = logging.getLogger(__name__)
#: The longest a scrape waits for a state being encoded ahead (`ScrapeCollector.prepare`) before it encodes
#: what it needs itself (encoding a 500-model root whole takes ~5 ms).
PREPARE_WAIT = 0.5


class Source(Protocol):
    """One of our collectors: a name (for `--collector.NAME` and the success label) and `collect()`.

    A source may also define `cache_key()`; equal keys mean equal metrics. One with a key may define
    `exposition()`: an encoder (`om` -> bytes) of its data as of that call, which `collect()` must agree with.
    """

    name: str

    def collect(self) -> Iterable[Metric]: ...


def cached(source: Source, key: object) -> Cached:
    """`source`'s data now, to encode in either format: by its own `exposition()` when it has one (a source that
    encodes only what changed, `collectors.rows`), else its families through prometheus_client."""
    exposition = getattr(source, "exposition", None)
    if exposition is not None:
        return Cached(key, exposition())
    return Cached.of(key, text_labels(source.collect()))


class ScrapeTimer:
    """Duration of the previous /metrics requests (count and sum), kept by the HTTP handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        """Record one served scrape."""
        with self._lock:
            self.count += 1
            self.total += seconds


class ScrapeCollector(Collector):
    """Runs the sources and adds `modelcache_scrape_collector_{success,duration_seconds}`."""

    def __init__(self, sources: Sequence[Source], timer: ScrapeTimer, extra: Sequence[Collector] = ()) -> None:
        self.sources, self.timer, self.extra = list(sources), timer, list(extra)
        self._cache: dict[str, Cached] = {}
        self._lock = threading.Lock()
        self.flight: SingleFlight[bytes] = SingleFlight()
        self._asked: set[bool] = {False}  # the formats scrapes asked for (OpenMetrics: True), text to begin with
        self._prepared = threading.Event()  # set while `prepare` is not encoding
        self._prepared.set()

    def describe(self) -> list[Metric]:
        """Nothing: registering must not trigger a collection."""
        return []

    def collect(self) -> Iterator[Metric]:
        """All families, freshly built (registry path: textfile output, tests)."""
        meta = self._meta()
        for source in self.sources:
            yield from self._run(source, meta)
        yield from self._finish(meta)
        for other in self.extra:
            yield from other.collect()

    def render(self, om: bool, gz: bool = False) -> bytes:
        """The exposition body for HTTP. Scrapes arriving together share one rendering that began after they
        arrived (`flight`): 40 concurrent scrapers cost one or two renders, not 40 in a row."""
        self._asked.add(om)
        return self.flight.do((om, gz), lambda: self._render(om, gz))

    def prepare(self) -> None:
        """Encode ahead of the next scrape every source whose state changed, in the formats scrapes asked for:
        a change (the index publishing its link pass) then costs this caller's thread, not a scrape. Done outside
        the scrapes' lock, so a scrape meanwhile goes on with what it has; a failure is left for the scrape to
        report (`success 0`). A scrape that arrives meanwhile waits for it (`PREPARE_WAIT` at most) rather than
        encode the same state beside it."""
        for source in self.sources:
            try:
                self._prepare(source)
            finally:
                self._prepared.set()

    def _prepare(self, source: Source) -> None:
        """Encode one source ahead, when its state changed since it was last encoded (scrapes wait meanwhile)."""
        key_fn = getattr(source, "cache_key", None)
        if key_fn is None:
            return
        key = key_fn()
        hit = self._cache.get(source.name)
        if hit is not None and hit.key == key and all(om in hit.raw for om in self._asked):
            return
        self._prepared.clear()
        fresh = hit if hit is not None and hit.key == key else cached(source, key)
        try:
            for om in sorted(self._asked):
                fresh.body(om, False)
        except Exception:
            return
        with self._lock:
            self._cache[source.name] = fresh

    def encoded(self, name: str, om: bool) -> bytes | None:
        """What is held encoded for source `name` in one format (None: nothing yet): the bytes the next scrape
        sends for it while its `cache_key()` is unchanged."""
        hit = self._cache.get(name)
        return hit.raw.get(om) if hit is not None else None

    def _render(self, om: bool, gz: bool) -> bytes:
        """The exposition body, reusing the encoding of unchanged sources.

        With `gz`, the body is a multi-member gzip stream (RFC 1952 section 2.2): unchanged sources
        keep their compressed member, only the rest is compressed for this scrape.
        """
        self._prepared.wait(PREPARE_WAIT)  # a state being encoded ahead: not encoded twice at once
        meta = self._meta()
        parts: list[bytes] = []
        live: list[bytes] = []
        with self._lock:
            for source in self.sources:
                cached = self._encoded(source, meta, om)
                if isinstance(cached, Cached):
                    if live:
                        parts.append(gz_member(b"".join(live), gz))
                        live = []
                    parts.append(cached.body(om, gz))
                else:
                    live.append(cached)
        tail = [*self._finish(meta)]
        for other in self.extra:
            tail.extend(other.collect())
        live.append(encode(tail, om) + (OM_EOF if om else b""))
        parts.append(gz_member(b"".join(live), gz))
        return b"".join(parts)

    def _encoded(self, source: Source, meta: tuple[GaugeMetricFamily, GaugeMetricFamily], om: bool) -> bytes | Cached:
        """One source's bytes (cached or not); a source whose collection or encoding fails gives nothing, says
        `success 0` and is tried afresh next scrape (its failure is never cached)."""
        t0 = time.perf_counter()
        try:
            result, ok = self._encode_source(source, om), 1.0
        except Exception:
            log.exception("collector failed", extra=kv(collector=source.name))
            self._cache.pop(source.name, None)
            result, ok = b"", 0.0
        meta[0].add_metric([source.name], ok)
        meta[1].add_metric([source.name], time.perf_counter() - t0)
        return result

    def _encode_source(self, source: Source, om: bool) -> bytes | Cached:
        """Encode a source, or reuse its encoding while its `cache_key()` is unchanged; raises what the source's
        collection or the encoding raises."""
        key_fn = getattr(source, "cache_key", None)
        if key_fn is None:
            return encode(text_labels(source.collect()), om)
        key = key_fn()
        hit = self._cache.get(source.name)
        if hit is None or hit.key != key:
            hit = self._cache[source.name] = cached(source, key)
        hit.body(om, False)  # encode now (once per format): a failure here is this source's, and is not kept
        return hit

    @staticmethod
    def _meta() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        success = gauge("scrape_collector_success", "1 if the collector produced its metrics.", ["collector"])
        duration = gauge("scrape_collector_duration_seconds", "Time the collector took in this scrape.", ["collector"])
        return success, duration

    @staticmethod
    def _run(source: Source, meta: tuple[GaugeMetricFamily, GaugeMetricFamily]) -> list[Metric]:
        t0 = time.perf_counter()
        try:
            families, ok = text_labels(source.collect()), 1.0
        except Exception:
            log.exception("collector failed", extra=kv(collector=source.name))
            families, ok = [], 0.0
        meta[1].add_metric([source.name], time.perf_counter() - t0)
        meta[0].add_metric([source.name], ok)
        return families

    def _finish(self, meta: tuple[GaugeMetricFamily, GaugeMetricFamily]) -> Iterator[Metric]:
        yield from meta
        summary = SummaryMetricFamily(
            PREFIX + "exporter_scrape_duration_seconds", "Time taken to serve previous scrapes of the metrics endpoint."
        )
        summary.add_metric([], self.timer.count, self.timer.total)
        yield summary
