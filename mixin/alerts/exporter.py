"""Alerts of the group `modelcache.exporter`: the exporter itself is scraped, collects, reloads and indexes."""

from __future__ import annotations

from mixin.alerts.model import Alert, secs
from mixin.config import Thresholds


def _scrape(t: Thresholds) -> list[Alert]:
    """ExporterDown, ExporterAbsent, CollectorFailing, ConfigReloadFailed."""
    return [
        Alert(
            "ExporterDown",
            "warning",
            "up{sel} == 0",
            "modelcache-exporter cannot be scraped.",
            "Prometheus cannot scrape modelcache-exporter on {{ $labels.instance }}: the model cache of that "
            "host is not monitored.",
            t["exporter_down_for"],
        ),
        Alert(
            "ExporterAbsent",
            "warning",
            "absent(up{sel})",
            "Prometheus has no modelcache-exporter target.",
            "Prometheus has no target of job {{ $labels.job }}: no model cache is monitored. The scrape "
            "configuration or service discovery lost the exporter.",
            t["exporter_absent_for"],
        ),
        Alert(
            "CollectorFailing",
            "warning",
            "modelcache_scrape_collector_success{sel} == 0",
            "A collector of modelcache-exporter fails.",
            "Collector {{ $labels.collector }} of modelcache-exporter on {{ $labels.instance }} fails on "
            "every scrape: its metrics, and the alerts on them, are missing.",
            t["collector_failing_for"],
        ),
        Alert(
            "ConfigReloadFailed",
            "warning",
            "modelcache_config_last_reload_successful{sel} == 0",
            "modelcache-exporter could not reload its configuration.",
            "The last configuration reload of modelcache-exporter on {{ $labels.instance }} failed: it still runs "
            "the previous configuration, and its next restart will fail on the broken file.",
            t["reload_failed_for"],
        ),
    ]


def _index(t: Thresholds) -> list[Alert]:
    """IndexStale and IndexNotReady: the cache index the cache metrics come from."""
    return [
        Alert(
            "IndexStale",
            "warning",
            f"(\n  time() - modelcache_index_last_scan_timestamp_seconds{{sel}} > {t['index_stale_seconds']}\n)\n"
            "and on(instance, job, root)\n  modelcache_root_present{sel} == 1",
            "The cache index of modelcache-exporter is stale.",
            "The last full scan of cache root {{ $labels.root }} on {{ $labels.instance }} ended "
            "{{ $value | humanizeDuration }} ago (threshold "
            f"{secs(t['index_stale_seconds'])}): sizes and models shown for it may be wrong.",
            t["index_stale_for"],
        ),
        Alert(
            "IndexNotReady",
            "warning",
            "modelcache_index_ready{sel} == 0",
            "The first scan of a model cache does not finish.",
            "The first scan of cache root {{ $labels.root }} on {{ $labels.instance }} has not finished: "
            "its size and models are unknown.",
            t["index_not_ready_for"],
        ),
    ]


def exporter(t: Thresholds) -> list[Alert]:
    """The group's alerts in file order."""
    return [*_scrape(t), *_index(t)]
