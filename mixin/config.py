"""The one configuration of the mixin, shared by the alerts and the dashboards.

THRESHOLDS holds every threshold, window and `for:` of the alerts; the dashboards draw their alert levels (the
85 % line, the 60 s load) from the same table, so the two cannot disagree. SELECTOR and RUNBOOK_URL are the
defaults of `python -m mixin --selector/--runbook-url`; PREFIX starts every alert name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The repository root; the generated files are committed under alerts/ and dashboards/ there.
ROOT = Path(__file__).resolve().parent.parent
ALERTS_DIR = ROOT / "alerts"
DASHBOARDS_DIR = ROOT / "dashboards"
# Where `runbook_url` points: alerts/RUNBOOK.md on the project's main branch, plus `#<alertname lowercased>`
# (GitHub's anchor for a `## AlertName` heading). Override with --runbook-url for an internal copy.
RUNBOOK_URL = "https://github.com/modelcache-exporter/modelcache-exporter/blob/main/alerts/RUNBOOK.md"
# Matchers added to every selector: the scrape job of the exporter (README: `job_name: modelcache-exporter`).
SELECTOR = 'job="modelcache-exporter"'
PREFIX = "ModelCache"
# The label that groups hosts meant to hold the same files (the fleet alerts compare fingerprints within it):
# `job` by default; `cluster` or `role` where one job spans several fleets.
FLEET_GROUP = "job"
# The kinds of `modelcache_root_corruptions` that break a model load: ModelCacheCorruption pages on them and the
# overview counts them (bad_repo_name and external_link are oddities, not damage).
CORRUPTION_KINDS = "broken_link|dangling_ref|missing_snapshots|snapshot_is_file"
# The threshold table the alert and dashboard builders read (THRESHOLDS, or a copy with some values replaced).
Thresholds = Mapping[str, Any]

# Every threshold, window and `for:` in one place. Ratios are 0-1, durations in seconds unless a PromQL range.
THRESHOLDS: dict[str, Any] = {
    # space on the cache's filesystem (usage = the share a download cannot use)
    "disk_usage_warning": 0.85,
    "disk_usage_critical": 0.95,
    "disk_usage_warning_for": "15m",
    "disk_usage_critical_for": "5m",
    # filling up: predicted full within N hours from the trend over `disk_fill_window`, once usage is above the gate
    "disk_fill_window": "6h",
    "disk_fill_warning_hours": 24,
    "disk_fill_warning_gate": 0.6,
    "disk_fill_critical_hours": 4,
    "disk_fill_critical_gate": 0.8,
    "disk_fill_for": "1h",
    # inodes
    "inodes_usage_warning": 0.85,
    "inodes_usage_critical": 0.95,
    "inodes_for": "30m",
    "filesystem_error_for": "5m",
    "ephemeral_for": "10m",
    # IO latency: average per request from the kernel's counters, only while the disk does some IO
    "io_latency_window": "5m",
    "io_latency_seconds": 0.1,
    "io_latency_min_iops": 1,
    "io_latency_for": "15m",
    # the active probe (write/fsync/read/unlink of 4 KiB on the cache's filesystem)
    "probe_window": "10m",
    "probe_quantile": 0.9,
    "probe_latency_seconds": 1.0,
    "probe_latency_for": "15m",
    "probe_errors_window": "15m",
    "probe_errors": 3,
    # cache contents
    "root_missing_for": "15m",
    "corruption_for": "30m",
    "download_stalled_for": "10m",
    "event_window": "1h",  # re-downloads and wipes page this long after they happen
    "event_gap": "5m",  # a scrape gap this long (an exporter restart) does not resolve such a page
    "required_missing_for": "10m",
    "required_incomplete_for": "15m",
    "corrupt_file_for": "5m",  # a verdict stands until the file changes: this only absorbs scrape gaps
    # keep above the longest copy: rsync writes each file as root-only temporary first, then fixes its owner
    "unreadable_for": "15m",
    "drift_for": "1h",
    # the fleet: hosts may disagree this long while a sync runs (keep above the longest rsync)
    "fleet_sync_window": "30m",
    "ledger_for": "30m",
    # the next start: what it would download now (files of required models gone from the cache), as a forecast
    "next_start_warning_seconds": 120,
    "next_start_critical_seconds": 600,
    "next_start_for": "5m",
    # the web UI
    "load_seconds": 60,
    "load_slow_window": "1h",
    "load_running_warning_seconds": 60,
    "load_running_critical_seconds": 900,
    "restart_window": "15m",
    "restarts": 2,  # more than this many restarts in the window is a loop
    "restart_for": "5m",
    "log_missing_for": "15m",
    "log_silent_seconds": 12 * 3600,
    "log_silent_for": "15m",
    # the exporter itself
    "exporter_down_for": "5m",
    "exporter_absent_for": "15m",
    "collector_failing_for": "15m",
    "index_stale_seconds": 3600,  # keep above --collector.cache.reconcile-interval (600s by default)
    "index_stale_for": "15m",
    "index_not_ready_for": "30m",
    "reload_failed_for": "10m",
}
