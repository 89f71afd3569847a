"""Alerts of the group `modelcache.filesystem`: space, inodes, a dead or ephemeral mount, IO latency, the probe."""

from __future__ import annotations

from mixin.alerts.model import SEVERITIES, Alert, pct, secs
from mixin.config import Thresholds

READ_WRITE = "modelcache_filesystem_readonly{sel} == 0"  # read-only filesystems do not fill up


def _space(t: Thresholds) -> list[Alert]:
    """DiskAlmostFull and DiskFillingUp, warning and critical each."""
    alerts = []
    for sev in SEVERITIES:
        limit = t[f"disk_usage_{sev}"]
        alerts.append(
            Alert(
                "DiskAlmostFull",
                sev,
                f"(\n  modelcache_filesystem_usage_ratio{{sel}} > {limit}\nand on(instance, job, root)\n"
                f"  {READ_WRITE}\n)",
                f"Model cache filesystem is more than {pct(limit)} full.",
                "The filesystem under cache root {{ $labels.root }} on {{ $labels.instance }} is "
                f"{{{{ $value | humanizePercentage }}}} full (threshold {pct(limit)}). A model download that "
                "does not fit fails half-way and the web UI cannot start.",
                t[f"disk_usage_{sev}_for"],
            )
        )
    window = t["disk_fill_window"]
    for sev in SEVERITIES:
        hours, gate = t[f"disk_fill_{sev}_hours"], t[f"disk_fill_{sev}_gate"]
        alerts.append(
            Alert(
                "DiskFillingUp",
                sev,
                f"(\n  modelcache_filesystem_usage_ratio{{sel}} > {gate}\nand on(instance, job, root)\n"
                f"  predict_linear(modelcache_filesystem_avail_bytes{{sel}}[{window}], {hours} * 3600) < 0\n"
                f"and on(instance, job, root)\n  {READ_WRITE}\n)",
                f"Model cache filesystem is predicted to be full within {hours} hours.",
                "The filesystem under cache root {{ $labels.root }} on {{ $labels.instance }} is "
                f"{{{{ $value | humanizePercentage }}}} full and, at the rate of the last {window}, "
                f"will be full within {hours} hours.",
                t["disk_fill_for"],
            )
        )
    return alerts


def _inodes(t: Thresholds) -> list[Alert]:
    """InodesAlmostExhausted, warning and critical."""
    return [
        Alert(
            "InodesAlmostExhausted",
            sev,
            f"(\n  modelcache_filesystem_files_usage_ratio{{sel}} > {t[f'inodes_usage_{sev}']}\n"
            f"and on(instance, job, root)\n  {READ_WRITE}\n)",
            f"Model cache filesystem has used more than {pct(t[f'inodes_usage_{sev}'])} of its inodes.",
            "The filesystem under cache root {{ $labels.root }} on {{ $labels.instance }} has used "
            f"{{{{ $value | humanizePercentage }}}} of its inodes (threshold {pct(t[f'inodes_usage_{sev}'])}). "
            "New files, and so downloads, fail with 'No space left on device' even with free bytes.",
            t["inodes_for"],
        )
        for sev in SEVERITIES
    ]


def _mount(t: Thresholds) -> list[Alert]:
    """FilesystemError (dead mount) and EphemeralStorage (lost on restart)."""
    return [
        Alert(
            "FilesystemError",
            "critical",
            "modelcache_filesystem_device_error{sel} == 1",
            "The filesystem under a model cache fails or hangs.",
            "statvfs on the filesystem under cache root {{ $labels.root }} on {{ $labels.instance }} failed or "
            "hung longer than --collector.filesystem.timeout: the mount is dead (network filesystem, "
            "unplugged volume) and model loads from it hang or fail.",
            t["filesystem_error_for"],
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
            t["ephemeral_for"],
        ),
    ]


def _io_latency(t: Thresholds) -> Alert:
    """DiskIOLatencyHigh: average time per read or write from the kernel's counters, while the disk does IO."""
    lat = t["io_latency_window"]
    ops = []
    for op, time_c, count_c in (
        ("read", "read_time_seconds_total", "reads_completed_total"),
        ("write", "write_time_seconds_total", "writes_completed_total"),
    ):
        rate_n = f"rate(modelcache_disk_{count_c}{{sel}}[{lat}])"
        ops.append(
            f"  label_replace(\n"
            f"    rate(modelcache_disk_{time_c}{{sel}}[{lat}]) / {rate_n} > {t['io_latency_seconds']}\n"
            f"    and {rate_n} > {t['io_latency_min_iops']},\n"
            f'    "op", "{op}", "", ""\n'
            f"  )"
        )
    return Alert(
        "DiskIOLatencyHigh",
        "warning",
        "(\n" + "\nor\n".join(ops) + "\n)",
        "High IO latency on the disk of a model cache.",
        "Average {{ $labels.op }} latency on {{ $labels.device }} (cache root {{ $labels.root }}) on "
        f"{{{{ $labels.instance }}}} is {{{{ $value | humanizeDuration }}}} over {lat} (threshold "
        f"{secs(t['io_latency_seconds'])}). Model loads read slowly from it.",
        t["io_latency_for"],
    )


def _probe(t: Thresholds) -> list[Alert]:
    """ProbeLatencyHigh and ProbeFailing: the active write/fsync/read/unlink probe of 4 KiB."""
    pw, q = t["probe_window"], t["probe_quantile"]
    return [
        Alert(
            "ProbeLatencyHigh",
            "warning",
            f"histogram_quantile(\n  {q},\n  sum by (instance, job, root, op, le) "
            f"(rate(modelcache_probe_duration_seconds_bucket{{sel}}[{pw}]))\n) > {t['probe_latency_seconds']}",
            "The IO probe on a model cache filesystem is slow.",
            f"The {q * 100:g}th percentile of the probe's {{{{ $labels.op }}}} step on cache root "
            "{{ $labels.root }} on {{ $labels.instance }} is {{ $value | humanizeDuration }} over "
            f"{pw} (threshold {secs(t['probe_latency_seconds'])}).",
            t["probe_latency_for"],
        ),
        Alert(
            "ProbeFailing",
            "warning",
            f"increase(modelcache_probe_errors_total{{sel}}[{t['probe_errors_window']}]) >= {t['probe_errors']}",
            "The IO probe on a model cache filesystem fails.",
            '{{ $value | printf "%.0f" }} runs of the IO probe on the filesystem of cache root {{ $labels.root }} '
            f"on {{{{ $labels.instance }}}} failed in the last {t['probe_errors_window']}: writes or reads "
            "on it return errors.",
        ),
    ]


def filesystem(t: Thresholds) -> list[Alert]:
    """The group's alerts in file order."""
    return [*_space(t), *_inodes(t), *_mount(t), _io_latency(t), *_probe(t)]
