"""How a setting reads in `--help`, in the README's table and in error messages: its flag as written
(`--[no-]collector.cache`, `--web.listen-address=HOST:PORT`), its default in the units a person types (`10m`,
`on`, nothing when empty), an example of a good value, and the section it belongs to (web, paths, each
collector)."""

from __future__ import annotations

from typing import Any

from modelcache_exporter.base.values import format_duration
from modelcache_exporter.config.flags import env_name

# Section titles by group; a group is a setting's `group`, else `collector.<name>` -> <name>, else the first
# part of the flag (web, path), with config.* and log.* together.
TITLES = {
    "web": "Web server",
    "path": "Paths",
    "general": "Configuration file and logging",
    "cache": "Cache collector",
    "filesystem": "Filesystem collector",
    "diskstats": "Disk IO latency collector",
    "probe": "Active IO probe",
    "textfile": "Textfile output",
    "logs": "Web UI log collector",
    "webui": "Web UI load-time collector",
    "ledger": "Download ledger",
    "required": "Required models",
    "verify": "Offline verification",
}
_PLACEHOLDERS = {"duration": "DURATION", "int": "N", "count": "N", "address": "HOST:PORT", "paths": "PATH"}
_EXAMPLES = {
    "duration": "30s",
    "int": "10",
    "count": "10",
    "address": "127.0.0.1:10860",
    "paths": "/models/hub",
    "owner": "1000:1000",
}


def group_of(f: Any) -> str:
    """The help section a setting is listed in."""
    flag: str = f.metadata["flag"]
    if f.metadata.get("group"):
        return str(f.metadata["group"])
    parts = flag.split(".")
    if parts[0] == "collector":
        return parts[1]
    return "general" if parts[0] in ("config", "log") else parts[0]


def default_text(f: Any) -> str:
    """The default as a person types it: `10m`, `on`/`off`, `40`; "" for an empty one."""
    if "shown" in f.metadata:
        return str(f.metadata["shown"])
    kind, value = f.metadata["kind"], f.default
    if kind == "bool":
        return "on" if value else "off"
    if kind == "duration":
        return format_duration(float(value))
    if kind == "paths":
        return ",".join(value)
    return str(value)


def flag_text(f: Any) -> str:
    """The flag as `--help` lists it: `--[no-]collector.cache`, `--collector.cache.poll-interval=DURATION`."""
    flag, kind = f.metadata["flag"], f.metadata["kind"]
    if kind == "bool":
        return f"--[no-]{flag}"
    return f"--{flag}={placeholder(f)}"


def placeholder(f: Any) -> str:
    """What stands for the value in `--flag=VALUE`: `DURATION`, `N`, `FILE`…"""
    return str(f.metadata.get("metavar") or _PLACEHOLDERS.get(f.metadata["kind"], "VALUE"))


def notes(f: Any) -> str:
    """What follows the help text: `(default: 10m; env MODELCACHE_…)`, the default left out when empty."""
    default = default_text(f)
    env = f"env {env_name(f.metadata['flag'])}"
    return f"(default: {default}; {env})" if default else f"({env})"


def example_value(f: Any) -> str:
    """A good value of the setting: its default when it has one, else a typical one (the placeholder for a
    free-form string, such as FILE)."""
    kind, choices = f.metadata["kind"], f.metadata.get("choices") or ()
    if kind == "bool":
        return "false" if f.default else "true"
    if "shown" not in f.metadata and default_text(f):
        return default_text(f)
    if choices:
        return str(choices[0])
    return _EXAMPLES.get(kind) or placeholder(f)


def example(f: Any, source: str) -> str:
    """`--web.max-requests=40`, `MODELCACHE_WEB_MAX_REQUESTS=40` or `web.max-requests: 40`, by where the bad
    value came from."""
    flag, value = f.metadata["flag"], example_value(f)
    if source.startswith("--"):
        return f"--{flag}={value}"
    if source == env_name(flag):
        return f"{source}={value}"
    return f"{flag}: {value}"
