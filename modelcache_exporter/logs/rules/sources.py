"""Configuration of log sources (`logs:` in the file, `--path.webui-log`) and custom patterns
(`patterns:`), validated into frozen dataclasses; and the rule tables they compile to.

logs:
  - {name: webui, path: /var/log/indextts/webui.log}             # plain text, every built-in profile
  - {name: pod, path: "/var/log/pods/*/webui/*.log", format: cri}  # glob; CRI lines, P lines joined
  - {name: piped, stdin: true, profiles: [indextts2, gradio]}
patterns:
  - {name: vllm_ready, regex: '^INFO: +Application startup complete', event: ready, profile: vllm}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.logs.rules.profiles import BUILTIN
from modelcache_exporter.logs.rules.rules import Profile, Rule, Table

FORMATS = ("auto", "plain", "docker", "cri")
SOURCE_KEYS = ("name", "path", "stdin", "format", "profiles", "start_marker")
PATTERN_KEYS = ("name", "regex", "event", "profile", "stage", "kind", "source", "prefilter")
EVENTS = {
    "loading": "loading",
    "stage": "stage",
    "ready": "ready",
    "stopped": "stopped",
    "error": "error",
    "request": "request",
    "download_started": "dl_start",
    "download_finished": "dl_done",
    "custom": "custom",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_META = set(".^$*+?{}[]\\|()")


@dataclass(frozen=True)
class LogSourceConfig:
    """One log source. `profiles` empty means every built-in and every custom profile."""

    name: str
    path: str = ""
    stdin: bool = False
    format: str = "auto"
    profiles: tuple[str, ...] = ()
    start_marker: str = ""
    origin: str = "config file"


@dataclass(frozen=True)
class PatternConfig:
    """A custom line pattern for another model server (named groups: seconds, repo, file, bytes, value)."""

    name: str
    regex: str
    event: str
    profile: str = "custom"
    stage: str = ""
    kind: str = ""
    source: str = ""
    prefilter: str = ""


def _check_keys(item: object, keys: Sequence[str], where: str, required: str) -> dict[str, object]:
    if not isinstance(item, dict) or required not in item:
        raise ConfigError(f"{where}: each entry needs a '{required}'")
    unknown = sorted(set(map(str, item)) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(keys)}")
    return {str(k): v for k, v in item.items()}


def _name(value: object, where: str) -> str:
    name = str(value)
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{where}: name {name!r} must be letters, digits, '_', '.', '-' (it becomes a label)")
    return name


def check_regex(value: str, where: str) -> str:
    """`value` when it compiles (as a bytes pattern), else ConfigError naming `where`."""
    try:
        re.compile(value.encode())
    except re.error as exc:
        raise ConfigError(f"{where}: invalid regex {value!r}: {exc}") from None
    return value


def source_from_mapping(item: object, where: str) -> LogSourceConfig:
    """A `logs:` entry of the configuration file."""
    values = _check_keys(item, SOURCE_KEYS, where, "name")
    stdin = str(values.get("stdin", False)).lower() in ("true", "1", "yes", "on")
    path = str(values.get("path") or "")
    if stdin == bool(path):
        raise ConfigError(f"{where}: give either 'path' (a file or glob) or 'stdin: true'")
    fmt = str(values.get("format", "auto"))
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    profiles = values.get("profiles") or []
    if not isinstance(profiles, list):
        raise ConfigError(f"{where}: 'profiles' must be a list of profile names")
    marker = check_regex(str(values.get("start_marker") or ""), where)
    name = _name(values["name"], where)
    return LogSourceConfig(name, path, stdin, fmt, tuple(str(p) for p in profiles), marker)


def pattern_from_mapping(item: object, where: str) -> PatternConfig:
    """A `patterns:` entry of the configuration file."""
    values = _check_keys(item, PATTERN_KEYS, where, "regex")
    event = str(values.get("event", "custom"))
    if event not in EVENTS:
        raise ConfigError(f"{where}: event {event!r} is not one of {', '.join(EVENTS)}")
    if event == "stage" and not values.get("stage"):
        raise ConfigError(f"{where}: an event 'stage' needs 'stage: <name>'")
    text = {k: str(values.get(k) or "") for k in ("stage", "kind", "source", "prefilter")}
    name = _name(values.get("name", f"pattern{where.rsplit('[', 1)[-1].rstrip(']')}"), where)
    profile = _name(values.get("profile", "custom"), where)
    if profile in BUILTIN:
        raise ConfigError(f"{where}: profile {profile!r} is a built-in; give custom patterns their own profile name")
    return PatternConfig(name, check_regex(str(values["regex"]), where), event, profile, **text)


def finish_sources(
    paths: Sequence[str], described: Sequence[LogSourceConfig], origin: str
) -> tuple[LogSourceConfig, ...]:
    """`--path.webui-log` paths (named from the file when it lists them, else webui, webui-2…) or the file's list."""
    if not paths:
        chosen = list(described)
    else:
        by_path = {s.path: s for s in described}
        chosen = [by_path.get(p) or LogSourceConfig("", p, origin=origin) for p in paths]
    names: set[str] = set()
    out: list[LogSourceConfig] = []
    for s in chosen:
        name, n = s.name or "webui", 2
        if s.name and name in names:
            raise ConfigError(f"two log sources are named {name!r}; give each a unique 'name'")
        while name in names:
            name, n = f"webui-{n}", n + 1
        names.add(name)
        out.append(LogSourceConfig(name, s.path, s.stdin, s.format, s.profiles, s.start_marker, s.origin))
    return tuple(out)


def literal_prefix(regex: str) -> str:
    """The literal text a `^`-anchored regex starts with ("" when it does not)."""
    if not regex.startswith("^"):
        return ""
    out: list[str] = []
    for ch in regex[1:]:
        if ch in _META:
            if ch in "*+?{" and out:
                out.pop()
            break
        out.append(ch)
    return "".join(out)


def custom_rule(p: PatternConfig) -> Rule:
    """A custom pattern as a rule: anchored when the regex starts with literal text, else floating."""
    attrs = tuple((k, v) for k, v in (("stage", p.stage), ("error", p.kind), ("source", p.source)) if v)
    prefix = literal_prefix(p.regex)
    if prefix:
        return Rule(p.name, EVENTS[p.event], p.regex, prefix=prefix, attrs=attrs)
    return Rule(p.name, EVENTS[p.event], p.regex, contains=p.prefilter, attrs=attrs)


def build_table(source: LogSourceConfig, patterns: Sequence[PatternConfig]) -> Table:
    """The rule table of a source: its start marker first, then its profiles in the configured order."""
    custom: dict[str, list[Rule]] = {}
    for p in patterns:
        custom.setdefault(p.profile, []).append(custom_rule(p))
    available = {**BUILTIN, **{name: Profile(name, tuple(rules)) for name, rules in custom.items()}}
    wanted = source.profiles or tuple(available)
    unknown = [p for p in wanted if p not in available]
    if unknown:
        raise ConfigError(f"log source {source.name!r}: unknown profile {unknown[0]!r}; use {', '.join(available)}")
    chosen = [available[p] for p in wanted]
    if source.start_marker:
        marker = Rule("start_marker", "loading", source.start_marker, prefix=literal_prefix(source.start_marker))
        chosen.insert(0, Profile("start_marker", (marker,)))
    return Table(chosen)
