"""Alert rules for modelcache-exporter, as Python data: one place for every threshold.

`python alerts/generate.py` writes, next to this file:

- `modelcache.rules.yml`: plain Prometheus rules (`groups:`), for `rule_files:` or `promtool`;
- `prometheusrule.yaml`: the same groups as a prometheus-operator `PrometheusRule` (kube-prometheus
  picks it up through the labels `prometheus: k8s`, `role: alert-rules`).

Both are committed and a test checks they equal a fresh generation: change THRESHOLDS or ALERTS
here, never the YAML. For your own deployment, regenerate with your scrape job and runbook location:

    python alerts/generate.py --selector 'job="mc",env="prod"' \\
        --runbook-url https://wiki.example.com/modelcache/RUNBOOK.md --out-dir ./my-rules

The style is node-mixin's: CamelCase names with one prefix, `severity` warning/critical pairs under the
same name (so Alertmanager's usual inhibit rule mutes the warning while the critical fires), `for:` to
absorb blips, read-only guards, `predict_linear` with one window for both horizons, and a `summary`,
`description` (value and the labels that matter) and `runbook_url` on every alert.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
RULES_FILE = "modelcache.rules.yml"
OPERATOR_FILE = "prometheusrule.yaml"
# Where `runbook_url` points: alerts/RUNBOOK.md on the project's main branch, plus `#<alertname lowercased>`
# (GitHub's anchor for a `## AlertName` heading). Override with --runbook-url for an internal copy.
RUNBOOK_URL = "https://github.com/modelcache-exporter/modelcache-exporter/blob/main/alerts/RUNBOOK.md"
# Matchers added to every selector: the scrape job of the exporter (README: `job_name: modelcache-exporter`).
SELECTOR = 'job="modelcache-exporter"'
PREFIX = "ModelCache"

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
    "drift_for": "1h",
    "ledger_for": "30m",
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
T = THRESHOLDS
SEVERITIES = ("warning", "critical")
CORRUPTION_KINDS = "broken_link|dangling_ref|missing_snapshots|snapshot_is_file"


@dataclass(frozen=True)
class Alert:
    """One alerting rule. `expr` may use `{sel}` for the configured matchers."""

    name: str
    severity: str
    expr: str
    summary: str
    description: str
    for_: str = ""


def pct(ratio: float) -> str:
    """0.85 -> '85%'."""
    return f"{ratio * 100:g}%"


def secs(seconds: float) -> str:
    """A threshold in seconds, as on-call reads it: 0.1 -> '100ms', 60 -> '60s', 900 -> '15m', 43200 -> '12h'."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g}{unit}"
    return f"{seconds:g}s"


def _filesystem() -> list[Alert]:
    ro = "modelcache_filesystem_readonly{sel} == 0"
    alerts = []
    for sev in SEVERITIES:
        limit = T[f"disk_usage_{sev}"]
        alerts.append(
            Alert(
                "DiskAlmostFull",
                sev,
                f"(\n  modelcache_filesystem_usage_ratio{{sel}} > {limit}\nand on(instance, job, root)\n  {ro}\n)",
                f"Model cache filesystem is more than {pct(limit)} full.",
                "The filesystem under cache root {{ $labels.root }} on {{ $labels.instance }} is "
                f"{{{{ $value | humanizePercentage }}}} full (threshold {pct(limit)}). A model download that "
                "does not fit fails half-way and the web UI cannot start.",
                T[f"disk_usage_{sev}_for"],
            )
        )
    window = T["disk_fill_window"]
    for sev in SEVERITIES:
        hours, gate = T[f"disk_fill_{sev}_hours"], T[f"disk_fill_{sev}_gate"]
        alerts.append(
            Alert(
                "DiskFillingUp",
                sev,
                f"(\n  modelcache_filesystem_usage_ratio{{sel}} > {gate}\nand on(instance, job, root)\n"
                f"  predict_linear(modelcache_filesystem_avail_bytes{{sel}}[{window}], {hours} * 3600) < 0\n"
                f"and on(instance, job, root)\n  {ro}\n)",
                f"Model cache filesystem is predicted to be full within {hours} hours.",
                "The filesystem under cache root {{ $labels.root }} on {{ $labels.instance }} is "
                f"{{{{ $value | humanizePercentage }}}} full and, at the rate of the last {window}, "
                f"will be full within {hours} hours.",
                T["disk_fill_for"],
            )
        )
    for sev in SEVERITIES:
        limit = T[f"inodes_usage_{sev}"]
        alerts.append(
            Alert(
                "InodesAlmostExhausted",
                sev,
                f"(\n  modelcache_filesystem_files_usage_ratio{{sel}} > {limit}\nand on(instance, job, root)\n"
                f"  {ro}\n)",
                f"Model cache filesystem has used more than {pct(limit)} of its inodes.",
                "The filesystem under cache root {{ $labels.root }} on {{ $labels.instance }} has used "
                f"{{{{ $value | humanizePercentage }}}} of its inodes (threshold {pct(limit)}). New files, "
                "and so downloads, fail with 'No space left on device' even with free bytes.",
                T["inodes_for"],
            )
        )
    return alerts


def _filesystem_health() -> list[Alert]:
    lat = T["io_latency_window"]
    ops = []
    for op, time_c, count_c in (
        ("read", "read_time_seconds_total", "reads_completed_total"),
        ("write", "write_time_seconds_total", "writes_completed_total"),
    ):
        rate_n = f"rate(modelcache_disk_{count_c}{{sel}}[{lat}])"
        ops.append(
            f"  label_replace(\n"
            f"    rate(modelcache_disk_{time_c}{{sel}}[{lat}]) / {rate_n} > {T['io_latency_seconds']}\n"
            f"    and {rate_n} > {T['io_latency_min_iops']},\n"
            f'    "op", "{op}", "", ""\n'
            f"  )"
        )
    pw, q = T["probe_window"], T["probe_quantile"]
    return [
        Alert(
            "FilesystemError",
            "critical",
            "modelcache_filesystem_device_error{sel} == 1",
            "The filesystem under a model cache fails or hangs.",
            "statvfs on the filesystem under cache root {{ $labels.root }} on {{ $labels.instance }} failed or "
            "hung longer than --collector.filesystem.timeout: the mount is dead (network filesystem, "
            "unplugged volume) and model loads from it hang or fail.",
            T["filesystem_error_for"],
        ),
        Alert(
            "EphemeralStorage",
            "warning",
            "(\n  modelcache_filesystem_ephemeral{sel} == 1\n)\n"
            "* on(instance, job, root) group_left(storage, mountpoint, fstype)\n  modelcache_filesystem_info{sel}",
            "A model cache is on storage that is lost on restart.",
            "Cache root {{ $labels.root }} on {{ $labels.instance }} is on {{ $labels.storage }} storage "
            "({{ $labels.fstype }} at {{ $labels.mountpoint }}): every model in it is downloaded again "
            "after the next container or pod restart.",
            T["ephemeral_for"],
        ),
        Alert(
            "DiskIOLatencyHigh",
            "warning",
            "(\n" + "\nor\n".join(ops) + "\n)",
            "High IO latency on the disk of a model cache.",
            "Average {{ $labels.op }} latency on {{ $labels.device }} (cache root {{ $labels.root }}) on "
            f"{{{{ $labels.instance }}}} is {{{{ $value | humanizeDuration }}}} over {lat} (threshold "
            f"{secs(T['io_latency_seconds'])}). Model loads read slowly from it.",
            T["io_latency_for"],
        ),
        Alert(
            "ProbeLatencyHigh",
            "warning",
            f"histogram_quantile(\n  {q},\n  sum by (instance, job, root, op, le) "
            f"(rate(modelcache_probe_duration_seconds_bucket{{sel}}[{pw}]))\n) > {T['probe_latency_seconds']}",
            "The IO probe on a model cache filesystem is slow.",
            f"The {q * 100:g}th percentile of the probe's {{{{ $labels.op }}}} step on cache root "
            "{{ $labels.root }} on {{ $labels.instance }} is {{ $value | humanizeDuration }} over "
            f"{pw} (threshold {secs(T['probe_latency_seconds'])}).",
            T["probe_latency_for"],
        ),
        Alert(
            "ProbeFailing",
            "warning",
            f"increase(modelcache_probe_errors_total{{sel}}[{T['probe_errors_window']}]) >= {T['probe_errors']}",
            "The IO probe on a model cache filesystem fails.",
            '{{ $value | printf "%.0f" }} runs of the IO probe on the filesystem of cache root {{ $labels.root }} '
            f"on {{{{ $labels.instance }}}} failed in the last {T['probe_errors_window']}: writes or reads "
            "on it return errors.",
        ),
    ]


def seconds(duration: str) -> int:
    """A PromQL duration of one unit ('90s', '15m', '1h', '1d') in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(duration[:-1]) * units[duration[-1]]


def recently(timestamp_metric: str, window: str) -> str:
    """The event whose time `timestamp_metric` holds happened within `window`.

    A timestamp, not `increase()` of a counter: a counter needs two samples of one series, so a re-download
    done before the first scrape of a new instance (a recreated pod has a new `instance` label, and its
    web UI starts downloading at once) would never page. The exporter keeps the time in its ledger, so the
    page neither depends on the series' history nor ends when the exporter restarts; `last_over_time` over
    `event_gap` bridges the failed scrapes of a restart, which would otherwise resolve the alert and page
    again a minute later.
    """
    return f"time() - last_over_time({timestamp_metric}[{T['event_gap']}]) < {seconds(window)}"


def _cache() -> list[Alert]:
    ew = T["event_window"]
    # A download that grows keeps the required-model alerts quiet; an abandoned partial file (stalled) does not.
    no_download = "unless on(instance, job, root)\n  modelcache_downloads_active{sel} > 0"
    ready = "and on(instance, job, root)\n  modelcache_index_ready{sel} == 1"
    return [
        Alert(
            "RootMissing",
            "warning",
            "(\n  modelcache_root_present{sel} == 0\n)\n* on(instance, job, root) group_left(path)\n"
            "  modelcache_root_info{sel}",
            "A model cache directory does not exist.",
            "Cache root {{ $labels.root }} ({{ $labels.path }}) does not exist on {{ $labels.instance }}: "
            "the cache was deleted, its volume is not mounted, or HF_HOME points elsewhere. The next model "
            "load downloads everything again.",
            T["root_missing_for"],
        ),
        Alert(
            "Corruption",
            "warning",
            f'modelcache_root_corruptions{{sel, kind=~"{CORRUPTION_KINDS}"}} > 0',
            "A model cache has corrupt entries.",
            '{{ $value | printf "%.0f" }} corrupt entries of kind {{ $labels.kind }} in cache root '
            "{{ $labels.root }} on {{ $labels.instance }}: a model using them fails to load or is "
            "downloaded again.",
            T["corruption_for"],
        ),
        Alert(
            "DownloadStalled",
            "warning",
            "modelcache_downloads_stalled{sel} > 0",
            "A model download makes no progress.",
            '{{ $value | printf "%.0f" }} download(s) into cache root {{ $labels.root }} on '
            "{{ $labels.instance }} have stopped growing: the web UI waits on them.",
            T["download_stalled_for"],
        ),
        Alert(
            "UnexpectedRedownload",
            "warning",
            recently("modelcache_last_unexpected_redownload_timestamp_seconds{sel}", ew),
            "A model was downloaded again although it had been in the cache.",
            "{{ $labels.repo }} was downloaded again into cache root {{ $labels.root }} on "
            f"{{{{ $labels.instance }}}} in the last {ew}, after it had been complete there: the cache was "
            "lost or is not the one the web UI uses.",
        ),
        Alert(
            "Wiped",
            "warning",
            recently("modelcache_last_cache_wipe_timestamp_seconds{sel}", ew),
            "A model cache was wiped.",
            "Cache root {{ $labels.root }} on {{ $labels.instance }} lost most of its bytes at once in the last "
            f"{ew} (deleted, or its volume missing): the next load of each model downloads it again.",
        ),
        Alert(
            "RequiredModelMissing",
            "critical",
            # a model found nowhere has root="" (unless its requirement names one): guards are per instance
            "(\n  modelcache_required_model_present{sel} == 0\nand on(instance, job)\n"
            "  min by (instance, job) (modelcache_index_ready{sel}) == 1\n)\nunless on(instance, job)\n"
            "  sum by (instance, job) (modelcache_downloads_active{sel}) > 0",
            "A required model is not in the cache.",
            "Required model {{ $labels.model }} is in no cache root of {{ $labels.instance }} and nothing is "
            "downloading: the web UI cannot start without downloading it first.",
            T["required_missing_for"],
        ),
        Alert(
            "RequiredModelIncomplete",
            "warning",
            "(\n  modelcache_required_model_missing_files{sel} > 0\nand on(instance, job, root, model)\n"
            f"  modelcache_required_model_complete{{sel}} == 0\n{ready}\n)\n{no_download}",
            "A required model is in the cache with files missing.",
            "Required model {{ $labels.model }} in cache root {{ $labels.root }} on {{ $labels.instance }} "
            'lacks {{ $value | printf "%.0f" }} file(s) and nothing is downloading them: loading it fails '
            "or downloads them first.",
            T["required_incomplete_for"],
        ),
        Alert(
            "RevisionDrift",
            "warning",
            "count by (job, repo) (\n  count by (job, repo, revision) (\n"
            '    modelcache_model_revision_info{sel, refs=~"(.+,)?main(,.+)?", repo!="(other)"}\n  )\n) > 1',
            "Instances of one job have different revisions of a model.",
            "The instances of job {{ $labels.job }} have {{ $value }} different revisions of {{ $labels.repo }} "
            "as main: they serve different model versions.",
            T["drift_for"],
        ),
        Alert(
            "LedgerNotPersistent",
            "warning",
            "modelcache_ledger_persistent{sel} == 0",
            "The exporter keeps its download history in memory only.",
            "The download ledger of {{ $labels.instance }} could not be stored in --path.state and is kept in "
            "memory: after a restart the exporter cannot tell a re-download from a first download.",
            T["ledger_for"],
        ),
    ]


def _webui() -> list[Alert]:
    limit, lw = T["load_seconds"], T["load_slow_window"]
    alerts = [
        Alert(
            "ModelLoadSlow",
            "warning",
            f"(\n  modelcache_webui_last_load_duration_seconds{{sel}} > {limit}\n)\nand on(instance, job)\n"
            f"  increase(modelcache_webui_loads_total{{sel}}[{lw}]) > 0",
            f"The web UI took more than {secs(limit)} to load its models.",
            "The last model load of the web UI on {{ $labels.instance }} took {{ $value | humanizeDuration }} "
            f"(threshold {secs(limit)}): models were probably downloaded instead of read from the cache.",
        )
    ]
    for sev in SEVERITIES:
        run = T[f"load_running_{sev}_seconds"]
        alerts.append(
            Alert(
                "ModelLoadStillRunning",
                sev,
                f"modelcache_webui_load_in_progress_seconds{{sel}} > {run}",
                f"The web UI has been loading its models for more than {secs(run)}.",
                "The web UI on {{ $labels.instance }} has been loading for {{ $value | humanizeDuration }} "
                f"(threshold {secs(run)}) and is not serving: it is probably downloading models.",
            )
        )
    rw = T["restart_window"]
    return [
        *alerts,
        Alert(
            "WebUIRestartLoop",
            "critical",
            f"increase(modelcache_webui_restarts_total{{sel}}[{rw}]) > {T['restarts']}",
            "The web UI restarts in a loop.",
            'The web UI on {{ $labels.instance }} restarted {{ $value | printf "%.0f" }} times in the last '
            f"{rw}: it crashes while loading and is not serving.",
            T["restart_for"],
        ),
        Alert(
            "LogSourceMissing",
            "warning",
            "modelcache_log_files{sel} == 0",
            "A web UI log the exporter should follow does not exist.",
            "Log source {{ $labels.log }} on {{ $labels.instance }} matches no file: load times, restarts and "
            "downloads of that web UI are not seen.",
            T["log_missing_for"],
        ),
        Alert(
            "LogSourceSilent",
            "warning",
            f"time() - modelcache_log_last_line_timestamp_seconds{{sel}} > {T['log_silent_seconds']}",
            "A web UI log has been silent for a long time.",
            "Log source {{ $labels.log }} on {{ $labels.instance }} has had no line for "
            "{{ $value | humanizeDuration }} (threshold "
            f"{secs(T['log_silent_seconds'])}): the web UI may log elsewhere now.",
            T["log_silent_for"],
        ),
    ]


def _exporter() -> list[Alert]:
    return [
        Alert(
            "ExporterDown",
            "warning",
            "up{sel} == 0",
            "modelcache-exporter cannot be scraped.",
            "Prometheus cannot scrape modelcache-exporter on {{ $labels.instance }}: the model cache of that "
            "host is not monitored.",
            T["exporter_down_for"],
        ),
        Alert(
            "ExporterAbsent",
            "warning",
            "absent(up{sel})",
            "Prometheus has no modelcache-exporter target.",
            "Prometheus has no target of job {{ $labels.job }}: no model cache is monitored. The scrape "
            "configuration or service discovery lost the exporter.",
            T["exporter_absent_for"],
        ),
        Alert(
            "CollectorFailing",
            "warning",
            "modelcache_scrape_collector_success{sel} == 0",
            "A collector of modelcache-exporter fails.",
            "Collector {{ $labels.collector }} of modelcache-exporter on {{ $labels.instance }} fails on "
            "every scrape: its metrics, and the alerts on them, are missing.",
            T["collector_failing_for"],
        ),
        Alert(
            "ConfigReloadFailed",
            "warning",
            "modelcache_config_last_reload_successful{sel} == 0",
            "modelcache-exporter could not reload its configuration.",
            "The last configuration reload of modelcache-exporter on {{ $labels.instance }} failed: it still runs "
            "the previous configuration, and its next restart will fail on the broken file.",
            T["reload_failed_for"],
        ),
        Alert(
            "IndexStale",
            "warning",
            f"(\n  time() - modelcache_index_last_scan_timestamp_seconds{{sel}} > {T['index_stale_seconds']}\n)\n"
            "and on(instance, job, root)\n  modelcache_root_present{sel} == 1",
            "The cache index of modelcache-exporter is stale.",
            "The last full scan of cache root {{ $labels.root }} on {{ $labels.instance }} ended "
            "{{ $value | humanizeDuration }} ago (threshold "
            f"{secs(T['index_stale_seconds'])}): sizes and models shown for it may be wrong.",
            T["index_stale_for"],
        ),
        Alert(
            "IndexNotReady",
            "warning",
            "modelcache_index_ready{sel} == 0",
            "The first scan of a model cache does not finish.",
            "The first scan of cache root {{ $labels.root }} on {{ $labels.instance }} has not finished: "
            "its size and models are unknown.",
            T["index_not_ready_for"],
        ),
    ]


GROUPS = (
    ("modelcache.filesystem", lambda: _filesystem() + _filesystem_health()),
    ("modelcache.cache", _cache),
    ("modelcache.webui", _webui),
    ("modelcache.exporter", _exporter),
)


def all_alerts() -> list[tuple[str, list[Alert]]]:
    """(group name, alerts) in file order."""
    return [(name, build()) for name, build in GROUPS]


def rule(alert: Alert, selector: str, runbook_url: str) -> dict[str, Any]:
    """One rule as Prometheus reads it."""
    name = PREFIX + alert.name
    expr = alert.expr.replace("{sel}", "{" + selector + "}").replace("{sel, ", "{" + selector + ", ")
    out: dict[str, Any] = {"alert": name, "expr": expr}
    if alert.for_:
        out["for"] = alert.for_
    out["labels"] = {"severity": alert.severity}
    out["annotations"] = {
        "summary": alert.summary,
        "description": alert.description,
        "runbook_url": f"{runbook_url}#{name.lower()}",
    }
    return out


def groups(selector: str = SELECTOR, runbook_url: str = RUNBOOK_URL) -> list[dict[str, Any]]:
    """The `groups:` list."""
    return [{"name": name, "rules": [rule(a, selector, runbook_url) for a in alerts]} for name, alerts in all_alerts()]


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, no line folding."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)
HEADER = "# Generated by alerts/generate.py: edit the generator, then run `python alerts/generate.py`.\n"


def dump(doc: object) -> str:
    """YAML text with our header."""
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)


def render(selector: str = SELECTOR, runbook_url: str = RUNBOOK_URL) -> dict[str, str]:
    """{file name: text} of both outputs."""
    g = groups(selector, runbook_url)
    operator = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "modelcache-exporter",
            "labels": {
                "app.kubernetes.io/name": "modelcache-exporter",
                "prometheus": "k8s",
                "role": "alert-rules",
            },
        },
        "spec": {"groups": g},
    }
    return {RULES_FILE: dump({"groups": g}), OPERATOR_FILE: dump(operator)}


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, compare) the rule files."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--selector", default=SELECTOR, help=f"matchers of every selector (default: {SELECTOR})")
    p.add_argument("--runbook-url", default=RUNBOOK_URL, help="URL of RUNBOOK.md (default: the project's)")
    p.add_argument("--out-dir", type=Path, default=HERE, help="where to write (default: alerts/)")
    p.add_argument("--check", action="store_true", help="exit 1 if the files differ from a fresh generation")
    args = p.parse_args(argv)
    stale = []
    for name, text in render(args.selector, args.runbook_url.rstrip("#")).items():
        path = args.out_dir / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print("out of date (run python alerts/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
