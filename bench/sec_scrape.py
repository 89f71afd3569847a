"""Scrape latency at 1k, 100k and 1M files (500 models each: a scrape's cost depends on models, not files),
the exporter's RSS with the cache indexed and watched, and node_exporter's scrape on the same machine."""

from __future__ import annotations

import os
import time

from common import Row
from data import cache
from exporter_proc import Exporter, NodeExporter, get

TEXT = {"Accept": "text/plain", "Accept-Encoding": "identity"}
PROM = {
    "Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    "Accept-Encoding": "gzip",
}


def latencies(url: str, headers: dict[str, str], n: int) -> list[float]:
    """Wall time of `n` scrapes, each on a new connection (as curl measures it)."""
    get(url, headers)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        get(url, headers)
        out.append(time.perf_counter() - t0)
    return out


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    n = 100 if quick else 1000
    sizes = [("1k", "1k-500")] if quick else [("1k", "1k-500"), ("100k", "100k-500"), ("1M", "1M")]
    for files, name in sizes:
        ex = Exporter(cache(name), "--collector.cache.max-models", "1000")
        try:
            ex.wait_for(f'modelcache_index_verified{{root="cache-{name}"}} 1.0')
            rss = ex.status("VmRSS")
            for fmt, headers in (("text", TEXT), ("OpenMetrics+gzip", PROM)):
                lat = latencies(ex.url + "/metrics", headers, n)
                rows.append(
                    Row(
                        "scrape",
                        f"ours, {fmt}, {files} files",
                        "500 models",
                        lat,
                        baseline=f"ours, {fmt}, 1k files",
                        target="p99 <= 5 ms, <= 1.2x of 1k",
                        note=f"p99 {p99(lat) * 1000:.2f} ms",
                        extra={"p99": p99(lat)},
                    )
                )
            series = sum(1 for line in ex.metrics().splitlines() if line and not line.startswith("#"))
            rows.append(
                Row(
                    "footprint",
                    f"ours, RSS indexed + watched, {files} files",
                    "500 models",
                    [rss],
                    unit="MiB",
                    target="<= 64 MiB" if files == "1M" else "",
                    note=f"{series} series",
                )
            )
        finally:
            ex.stop()
    if os.path.exists(NodeExporter.BIN):
        node = NodeExporter()
        try:
            lat = latencies(node.url + "/metrics", TEXT, n)
            rows.append(
                Row(
                    "scrape",
                    "node_exporter 1.5 defaults, text",
                    "500 models",
                    lat,
                    baseline="ours, text, 1k files",
                    note=f"p99 {p99(lat) * 1000:.2f} ms",
                )
            )
        finally:
            node.stop()
    else:
        rows.append(Row("scrape", "node_exporter", "-", [0.0], note="prometheus-node-exporter not installed"))
    return rows
