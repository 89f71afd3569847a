"""Whether the configuration in force is what the files say: the last reload (SIGHUP, or a change of the web
configuration file) and when the configuration in force was loaded, as Prometheus reports its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client.core import Metric

from modelcache_exporter.collectors.families import gauge


class ReloadStatus:
    """Outcome of the last reload; starts as a success at the time the process loaded its configuration."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.successful = True
        self.success_time = time.time()
        self.reloads = 0
        self.failures = 0

    def record(self, ok: bool) -> None:
        """One reload attempt and its outcome."""
        with self._lock:
            self.successful = ok
            self.reloads += 1
            if ok:
                self.success_time = time.time()
            else:
                self.failures += 1


class ReloadCollector:
    """`modelcache_config_last_reload_successful` and `modelcache_config_last_reload_success_timestamp_seconds`."""

    name = "reload"

    def __init__(self, status: ReloadStatus) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        ok = gauge(
            "config_last_reload_successful",
            "1 if the last configuration reload (SIGHUP, or a change of the web configuration file) succeeded; "
            "0: a file is broken and the previous configuration is still in force.",
        )
        ok.add_metric([], 1.0 if self.status.successful else 0.0)
        when = gauge(
            "config_last_reload_success_timestamp_seconds",
            "When the configuration in force was loaded (start or last successful reload).",
        )
        when.add_metric([], self.status.success_time)
        yield ok
        yield when
