"""Web UI log health and the downloads seen in the logs: `modelcache_log_*`.

Label `log` is the configured name of a log source; label `source` of the download families is
where a download came from (hf, modelscope, indextts, or a custom pattern's source). `repo` is
capped (`--collector.logs.max-repos`; later repos read `(other)`, unknown ones `(unknown)`).
Everything is read from the monitor's published `LogSnapshot`; a scrape never touches a file and
never takes the monitor's lock.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import HistogramMetricFamily, Metric

from modelcache_exporter.collectors.families import PREFIX, counter, gauge
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.logs.monitor import LogMonitor
from modelcache_exporter.logs.snapshot import DownloadView, SourceView

_HEALTH = (
    ("log_lines", "Lines read (split on newlines; Docker/CRI lines after joining partial lines).", "lines"),
    ("log_bytes", "Bytes read from the log (as stored: JSON or CRI framing included).", "bytes"),
    ("log_rotations", "Files replaced at the log path (rename, delete and recreate, symlink switch).", "rotations"),
    ("log_truncations", "Files truncated under the read offset (copytruncate, a shell `>`).", "truncations"),
    ("log_read_errors", "Failures to open or read a log file (permission, I/O error).", "read_errors"),
    ("log_lines_truncated", "Lines longer than --collector.logs.max-line-bytes (rest discarded).", "lines_truncated"),
)


class LogCollector:
    """`modelcache_log_*`."""

    name = "logs"

    def __init__(self, monitor: LogMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        snap = self.monitor.snapshot
        yield from self._health(snap.sources)
        yield from self._downloads(snap.downloads)

    def _health(self, sources: tuple[SourceView, ...]) -> list[Metric]:
        per_log = [(counter(name, doc, ["log"]), attr) for name, doc, attr in _HEALTH]
        matched = counter("log_lines_matched", "Lines matched by a rule of a parser profile.", ["log", "profile"])
        last = gauge(
            "log_last_line_timestamp_seconds", "Time of the last line (its own timestamp, else read time).", ["log"]
        )
        files = gauge("log_files", "Files being followed (0: the path does not exist yet).", ["log"])
        pattern = counter(
            "log_pattern_matches", "Lines matched by a custom pattern of kind `custom`.", ["log", "pattern"]
        )
        for st in sources:
            name = st.name
            for family, attr in per_log:
                family.add_metric([name], getattr(st, attr))
            for profile, n in st.matched:
                matched.add_metric([name, profile], n)
            if st.last_line_time:
                last.add_metric([name], st.last_line_time)
            files.add_metric([name], st.files)
            for rule_name, n in st.patterns:
                pattern.add_metric([name, rule_name], n)
        return [*(f for f, _ in per_log), matched, last, files, pattern]

    def _downloads(self, d: DownloadView) -> list[Metric]:
        sr = ["source", "repo"]
        started = counter("log_downloads_started", "Downloads seen starting in the logs.", sr)
        finished = counter("log_downloads_finished", "Downloads seen finishing in the logs.", sr)
        size = counter(
            "log_download_bytes", "Bytes of finished downloads (from progress bars: 3 significant digits).", sr
        )
        for family, table in ((started, d.started), (finished, d.finished), (size, d.bytes)):
            for (source, repo), n in table:
                family.add_metric([source, repo], n)
        hist = HistogramMetricFamily(
            PREFIX + "log_download_duration_seconds",
            "Duration of finished downloads (tqdm's elapsed time, else start to finish line).",
            labels=["source"],
        )
        for source, h in d.durations:
            hist.add_metric([source], list(h.buckets), h.sum)
        active = gauge("log_downloads_in_progress", "Downloads started and not yet finished.", ["source"])
        for source, n in d.in_progress:
            active.add_metric([source], n)
        errors = counter(
            "log_download_errors",
            "Download errors in the logs by kind (offline, connection, not_found, auth, http, consistency, "
            "download, interrupted: the app restarted mid-download).",
            ["source", "kind"],
        )
        for (source, kind), n in d.errors:
            errors.add_metric([source, kind], n)
        return [started, finished, size, hist, active, errors]


@register("logs")
def _logs(w: Workers) -> LogCollector | None:
    """Reads the log monitor, when it follows a log."""
    return LogCollector(w.logs) if w.logs is not None and w.logs.runners else None
