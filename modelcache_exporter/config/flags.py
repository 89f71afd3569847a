"""The exporter's configuration: flags > `MODELCACHE_*` environment > YAML file > defaults.

Every setting is one field of `Config`; its metadata names the flag (node_exporter vocabulary), from
which the environment variable (`MODELCACHE_` + upper-cased, `.`/`-` -> `_`) and the file key (the
same dotted name, or nested mappings; `enabled:` stands for the bare switch) are derived.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from modelcache_exporter.config import roots as rootmod
from modelcache_exporter.ledger.required import PROFILES, Requirement
from modelcache_exporter.logs.rules import sources as logsrc
from modelcache_exporter.web.config import WebConfig


def opt(
    flag: str,
    kind: str,
    default: Any,
    help: str,
    *,
    metavar: str = "",
    shown: str | None = None,
    choices: tuple[str, ...] = (),
    group: str = "",
) -> Any:
    """Declare a setting: its flag name (without `--`), parser kind, default and help text; for `--help`, the
    value's placeholder (`metavar`), the default as shown when it is not the field's (`shown`), the only values
    allowed (`choices`) and the help section (`group`, else from the name; see config/helptext.py)."""
    meta = {"flag": flag, "kind": kind, "help": help, "metavar": metavar, "choices": choices, "group": group}
    if shown is not None:
        meta["shown"] = shown
    return field(default=default, metadata=meta)


def env_name(flag: str) -> str:
    """`collector.cache.poll-interval` -> `MODELCACHE_COLLECTOR_CACHE_POLL_INTERVAL`."""
    return "MODELCACHE_" + flag.upper().replace(".", "_").replace("-", "_")


def default_state_dir() -> str:
    """`$XDG_STATE_HOME/modelcache-exporter`, else `~/.local/state/modelcache-exporter`."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "modelcache-exporter")


@dataclass(frozen=True)
class Config:
    """All settings, validated. `roots` is filled from `--path.cache`, the file, or discovery."""

    web_listen_address: str = opt(
        "web.listen-address",
        "address",
        "127.0.0.1:10860",
        "Address to listen on: host:port, or :port for all interfaces.",
        metavar="HOST:PORT",
    )
    web_telemetry_path: str = opt(
        "web.telemetry-path", "str", "/metrics", "Path under which to expose metrics.", metavar="PATH"
    )
    web_config_file: str = opt(
        "web.config.file",
        "str",
        "",
        "Web configuration file (Prometheus exporter-toolkit format): TLS, client certificates, basic auth.",
        metavar="FILE",
    )
    web_max_requests: int = opt(
        "web.max-requests",
        "count",
        40,
        "Maximum number of parallel requests (from their first byte to their answer); more are answered 503. "
        "Use 0 to disable.",
    )
    path_cache: tuple[str, ...] = opt(
        "path.cache",
        "paths",
        (),
        "A cache root to watch (repeatable); discovered: the HF hub cache, and the Xet, torch and ModelScope "
        "caches that exist or have their variable set.",
        metavar="PATH",
        shown="discovered",
    )
    path_state: str = opt(
        "path.state",
        "str",
        "",
        "State directory (ledger, log positions, probe files); under $XDG_STATE_HOME when that is set.",
        metavar="DIR",
        shown="~/.local/state/modelcache-exporter",
    )
    path_procfs: str = opt("path.procfs", "str", "/proc", "procfs mountpoint.", metavar="DIR")
    path_sysfs: str = opt("path.sysfs", "str", "/sys", "sysfs mountpoint.", metavar="DIR")
    config_file: str = opt(
        "config.file", "str", "", "YAML configuration file (cache roots and any setting).", metavar="FILE"
    )
    log_level: str = opt(
        "log.level",
        "str",
        "info",
        "Only log messages with the given severity or above: debug, info, warn or error.",
        metavar="LEVEL",
        choices=("debug", "info", "warn", "error"),
    )
    log_format: str = opt(
        "log.format",
        "str",
        "logfmt",
        "Output format of log messages: logfmt or json.",
        metavar="FORMAT",
        choices=("logfmt", "json"),
    )
    cache: bool = opt("collector.cache", "bool", True, "Enable the cache collector (sizes, models, index).")
    cache_reconcile_interval: float = opt(
        "collector.cache.reconcile-interval",
        "duration",
        600.0,
        "How often a size pass over every root checks the event-driven index for drift.",
    )
    cache_poll_interval: float = opt(
        "collector.cache.poll-interval",
        "duration",
        5.0,
        "Poll period for roots without inotify (network filesystems, watch limit reached).",
    )
    cache_max_models: int = opt(
        "collector.cache.max-models",
        "int",
        200,
        'Per-model series per root; the smallest models beyond it are summed as repo="(other)".',
    )
    cache_scan_workers: int = opt(
        "collector.cache.scan-workers",
        "count",
        2,
        "Worker processes for the cold scan at start (0: scan in the exporter's own process).",
    )
    cache_max_watches: int = opt(
        "collector.cache.max-watches",
        "int",
        8192,
        "Most inotify watches per root; a root needing more is polled instead.",
    )
    filesystem: bool = opt("collector.filesystem", "bool", True, "Enable the filesystem collector (statvfs).")
    filesystem_interval: float = opt(
        "collector.filesystem.interval", "duration", 15.0, "How often each root's filesystem is sampled."
    )
    filesystem_timeout: float = opt(
        "collector.filesystem.timeout",
        "duration",
        5.0,
        "A statvfs running longer than this is reported as an error (dead network mount).",
    )
    diskstats: bool = opt("collector.diskstats", "bool", True, "Enable the disk IO latency collector.")
    diskstats_interval: float = opt(
        "collector.diskstats.interval", "duration", 15.0, "How often the kernel's disk statistics are sampled."
    )
    probe: bool = opt(
        "collector.probe", "bool", True, "Enable the active IO probe (only where a probe directory is known)."
    )
    probe_interval: float = opt("collector.probe.interval", "duration", 60.0, "Period of the active IO probe.")
    probe_dir: str = opt(
        "collector.probe.dir",
        "str",
        "",
        "Probe directory for every root on its filesystem; by default the state directory, for the roots on "
        "its filesystem.",
        metavar="DIR",
    )
    textfile_output: str = opt(
        "collector.textfile.output",
        "str",
        "",
        "Also write all metrics atomically to this file (node_exporter textfile format).",
        metavar="FILE",
    )
    textfile_interval: float = opt(
        "collector.textfile.interval", "duration", 15.0, "How often the textfile output is rewritten."
    )
    logs: bool = opt(
        "collector.logs",
        "bool",
        True,
        "Enable the web UI log collector (log sources from --path.webui-log or the file's logs: list).",
    )
    path_webui_log: tuple[str, ...] = opt(
        "path.webui-log",
        "paths",
        (),
        "A web UI log file or glob to follow (repeatable; without one, only the file's logs: list is read); "
        "plain text, Docker json-file or CRI, detected.",
        metavar="PATH",
        group="logs",
    )
    logs_poll_interval: float = opt(
        "collector.logs.poll-interval", "duration", 0.25, "How often logs are checked for lines, rotation, truncation."
    )
    logs_max_line_bytes: int = opt(
        "collector.logs.max-line-bytes", "int", 65536, "Longest log line kept; the rest is discarded and counted."
    )
    logs_max_repos: int = opt(
        "collector.logs.max-repos",
        "int",
        50,
        'Distinct repo labels of the log download metrics; later repos are summed as repo="(other)".',
    )
    logs_read_backlog: bool = opt(
        "collector.logs.read-backlog",
        "bool",
        True,
        "On first sight of an existing log, read what it holds (as untimed history) instead of starting at its end.",
    )
    logs_rotate_wait: float = opt(
        "collector.logs.rotate-wait",
        "duration",
        5.0,
        "How long a rotated or deleted log file is still read after its path moved on.",
    )
    logs_position_interval: float = opt(
        "collector.logs.position-interval",
        "duration",
        1.0,
        "How often log read positions are saved to the state directory, when they changed (and on stop); "
        "a crash re-reads at most this much of the logs.",
    )
    webui: bool = opt(
        "collector.webui",
        "bool",
        True,
        "Enable the web UI load-time collector (needs a log source, a process pattern or a ready URL).",
    )
    webui_process_pattern: str = opt(
        "collector.webui.process-pattern",
        "str",
        "",
        "Regex on command lines that finds the web UI process; its start time starts a load (e.g. webui\\.py).",
        metavar="REGEX",
    )
    webui_ready_url: str = opt(
        "collector.webui.ready-url",
        "str",
        "",
        "URL probed until it answers below 400; the first success ends a load (e.g. http://127.0.0.1:7860/).",
        metavar="URL",
    )
    webui_interval: float = opt(
        "collector.webui.interval", "duration", 1.0, "Period of the web UI process check and readiness probe."
    )
    webui_ready_timeout: float = opt(
        "collector.webui.ready-timeout", "duration", 2.0, "Timeout of one readiness probe."
    )
    ledger: bool = opt(
        "collector.ledger",
        "bool",
        True,
        "Enable the download ledger: downloads seen on disk, classified first, new_revision or redownload.",
    )
    ledger_stall_after: float = opt(
        "collector.ledger.stall-after",
        "duration",
        300.0,
        "A partial download that has not grown for this long is stalled.",
    )
    ledger_default_throughput: int = opt(
        "collector.ledger.default-throughput",
        "int",
        10_000_000,
        "Download speed in bytes per second the next-start forecast assumes until this host has completed a "
        "download the ledger timed (then: the median of the latest ones).",
        metavar="BYTES",
    )
    required_profile: str = opt(
        "collector.required.profile",
        "str",
        "",
        "Built-in set of required models to check: indextts2.",
        metavar="PROFILE",
        choices=tuple(PROFILES),
    )
    required_interval: float = opt(
        "collector.required.interval", "duration", 30.0, "How often the required models are checked."
    )
    readable_by: str = opt(
        "collector.required.readable-by",
        "owner",
        "",
        "The web UI's user as UID, UID:GID or UID:GID,GID (its groups; the first is its primary group): count "
        "the files and folders of every model it could not read (owner, mode bits, POSIX ACLs), in a worker process.",
        metavar="UID[:GID,...]",
    )
    readable_interval: float = opt(
        "collector.required.readable-by.interval",
        "duration",
        300.0,
        "How often every model is checked for the readable-by user (and 10s after the index sees a change).",
    )
    required: tuple[Requirement, ...] = ()
    verify: bool = opt(
        "collector.verify",
        "bool",
        True,
        "Verify cached files offline against the hash that names them (hub blobs, local-dir etags), in a worker "
        "process, remembering each verdict in the state directory.",
    )
    verify_max_bytes_per_second: int = opt(
        "collector.verify.max-bytes-per-second",
        "int",
        50_000_000,
        "IO budget of the verification: bytes read per second on average (0: no verification).",
        metavar="BYTES",
    )
    verify_interval: float = opt(
        "collector.verify.interval",
        "duration",
        86400.0,
        "Time between the end of one verification pass over a root and the start of the next.",
    )
    log_sources: tuple[logsrc.LogSourceConfig, ...] = ()
    log_patterns: tuple[logsrc.PatternConfig, ...] = ()
    roots: tuple[rootmod.RootConfig, ...] = ()
    web: WebConfig = field(default_factory=WebConfig)

    @property
    def listen(self) -> tuple[str, int]:
        """(host, port) to bind."""
        from modelcache_exporter.base.values import parse_listen_address

        return parse_listen_address(self.web_listen_address)


def settings() -> list[Any]:
    """The declared settings (dataclass fields that carry a flag)."""
    return [f for f in fields(Config) if "flag" in f.metadata]
