"""The web UI's load time, readiness, errors and requests: `modelcache_webui_*`.

Alert on `modelcache_webui_load_in_progress_seconds > 60`: it grows while a load runs (so it
pages before the load ends) and is 0 otherwise. Read from the monitor's published `LogSnapshot`
only (no lock; the running load's age is computed at scrape time).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import HistogramMetricFamily, Metric

from modelcache_exporter.collectors.families import PREFIX, counter, gauge
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.logs.monitor import LogMonitor
from modelcache_exporter.logs.snapshot import AppView, LoadView


class WebuiCollector:
    """`modelcache_webui_*`."""

    name = "webui"

    def __init__(self, monitor: LogMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        snap = self.monitor.snapshot
        yield from self._load(snap.load, time.time())
        yield from self._app(snap.app)

    def _load(self, load: LoadView, now: float) -> list[Metric]:
        hist = HistogramMetricFamily(
            PREFIX + "webui_load_duration_seconds",
            "Model load time: process start (or new log file, or first loading line) to ready line or probe success.",
        )
        hist.add_metric([], list(load.hist.buckets), load.hist.sum)
        last = gauge("webui_last_load_duration_seconds", "Duration of the last load whose start and end were seen.")
        if load.last_duration is not None:
            last.add_metric([], load.last_duration)
        loading = gauge("webui_loading", "1 while a load is in progress.")
        loading.add_metric([], float(load.loading))
        running = gauge(
            "webui_load_in_progress_seconds", "Seconds the current load has been running (0 when none): alert on > 60."
        )
        running.add_metric([], load.in_progress(now))
        stages = gauge(
            "webui_stage_duration_seconds",
            "Stage durations of the last load (only when its lines arrived unbuffered; launch: last stage to ready).",
            ["stage"],
        )
        for stage, seconds in load.stages:
            stages.add_metric([stage], seconds)
        loads = counter("webui_loads", "Loads seen from not ready to ready.", [])
        loads.add_metric([], load.loads)
        restarts = counter("webui_restarts", "Web UI restarts seen (a new process, or a new load after one).", [])
        restarts.add_metric([], load.restarts)
        ready = gauge("webui_ready", "1 when the web UI is ready (ready line or probe success, not since lost).")
        ready.add_metric([], float(load.ready))
        buffered = gauge(
            "webui_stdout_buffered",
            "1 when the web UI's stdout looks block-buffered (stage lines in a burst or late): set PYTHONUNBUFFERED=1.",
        )
        buffered.add_metric([], float(load.buffered))
        started = gauge("webui_process_start_time_seconds", "Start time of the web UI process (when visible).")
        if load.process_start is not None:
            started.add_metric([], load.process_start)
        return [hist, last, loading, running, stages, loads, restarts, ready, buffered, started]

    def _app(self, webui: AppView) -> list[Metric]:
        errors = counter("webui_errors", "Error lines in the web UI's log by kind (downloads included).", ["kind"])
        for kind, n in webui.errors:
            errors.add_metric([kind], n)
        requests = counter("webui_requests", "Inference requests finished (IndexTTS2's total inference time line).", [])
        requests.add_metric([], webui.requests)
        hist = HistogramMetricFamily(
            PREFIX + "webui_inference_duration_seconds", "Inference time per request, from the web UI's log."
        )
        hist.add_metric([], list(webui.inference.buckets), webui.inference.sum)
        rtf = gauge("webui_rtf", "Real-time factor of the last request (inference time / audio length).")
        if webui.rtf is not None:
            rtf.add_metric([], webui.rtf)
        return [errors, requests, hist, rtf]


@register("webui")
def _webui(w: Workers) -> WebuiCollector | None:
    """Reads the log monitor, when it runs and the web UI collector is switched on."""
    return WebuiCollector(w.logs) if w.logs is not None and w.webui else None
