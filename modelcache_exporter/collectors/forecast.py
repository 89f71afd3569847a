"""What the next start of the web UI would cost (`ledger.forecast`), as the ledger collector exposes it.

Alert on `modelcache_next_start_download_bytes > 0` while the web UI is ready: the cache lost files of a
required model although nothing is wrong yet (they are in memory), and the next restart downloads them.
"""

from __future__ import annotations

from prometheus_client.core import Metric

from modelcache_exporter.collectors.families import gauge
from modelcache_exporter.ledger.forecast import Forecast


def forecast_families(fc: Forecast, next_start: bool) -> list[Metric]:
    """The throughput gauges, and (`next_start`: required models are configured) the per-root forecast."""
    rate = gauge(
        "download_throughput_bytes_per_second",
        "Download speed the next-start forecast uses: the median of this host's latest timed downloads of at "
        "least 1 MiB (ledger and log), else --collector.ledger.default-throughput.",
    )
    rate.add_metric([], fc.throughput.bytes_per_second)
    samples = gauge("download_throughput_samples", "Timed downloads the throughput is the median of (0: the default).")
    samples.add_metric([], fc.throughput.samples)
    if not next_start:
        return [rate, samples]
    nbytes = gauge(
        "next_start_download_bytes",
        "Bytes the next start of the web UI would download: files of required models the ledger saw, not "
        "complete in the cache now (root: where they were).",
        ["root"],
    )
    unknown = gauge(
        "next_start_unknown_models",
        "Required models missing now that the ledger never saw: their size is not known (not counted in bytes).",
        ["root"],
    )
    seconds = gauge(
        "next_start_forecast_seconds",
        "How long the next start would take: bytes to download / the download throughput + the last load duration.",
        ["root"],
    )
    for r in fc.roots:
        nbytes.add_metric([r.root], r.bytes)
        unknown.add_metric([r.root], r.unknown_models)
        seconds.add_metric([r.root], r.seconds)
    return [rate, samples, nbytes, unknown, seconds]
