"""Value parsers and the error type shared by every configuration source (flags, environment, file)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import yaml

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class ConfigError(Exception):
    """Invalid configuration. The message names the problem and the fix, on one line."""


def read_yaml(path: str, flag: str) -> Any:
    """The YAML document of a configuration file (`flag` names the flag that gave it); ConfigError with the
    fix when it cannot be read, is not UTF-8 or is not YAML."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise ConfigError(f"{flag} {path!r}: {exc.strerror}; give a readable YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: byte {exc.start} is not UTF-8; save the file as UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML; fix the syntax") from None


def quoted(text: object) -> str:
    """A value as a message shows it: in double quotes, control characters escaped."""
    return json.dumps(str(text), ensure_ascii=False)


def parse_duration(text: str) -> float:
    """`"90s"`, `"10m"`, `"1h30m"`, `"250ms"` or a plain number of seconds -> seconds."""
    value = str(text).strip()
    bad = f"{quoted(text)} is not a duration like 30s, 10m or 1h30m"
    try:
        seconds = float(value)
    except ValueError:
        parts = _DURATION.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ValueError(bad) from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds):  # float() takes "nan" and "inf": a wait of NaN or forever is no setting
        raise ValueError(bad)
    if seconds < 0:
        raise ValueError(f"{quoted(text)} is negative")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds in the units a person reads and `parse_duration` takes back: 600 -> `10m`, 0.25 -> `250ms`,
    5400 -> `1h30m`, 1.5 -> `1.5s`."""
    if 0 < seconds < 1:
        return f"{seconds * 1000:g}ms"
    hours, rest = divmod(seconds, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    text = (f"{hours:g}h" if hours else "") + (f"{minutes:g}m" if minutes else "") + (f"{secs:g}s" if secs else "")
    return text or "0s"


def parse_bool(text: str) -> bool:
    """true/false, yes/no, on/off, 1/0 (any case)."""
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{quoted(text)} is not a switch value (true or false, on or off)")


def parse_listen_address(text: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (all interfaces) -> (host, port)."""
    value = str(text).strip()
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)|([^:\[\]]*):(\d+)", value)
    if not m:
        raise ValueError(f"{quoted(text)} is not host:port or :port")
    host = m.group(1) if m.group(1) is not None else m.group(3)
    port = int(m.group(2) or m.group(4))
    if not 0 <= port <= 65535:
        raise ValueError(f"{quoted(text)}: port {port} is above 65535")
    return host or "0.0.0.0", port


def _whole(text: str) -> int:
    value = str(text).strip()
    if not re.fullmatch(r"[+-]?[0-9]+", value):  # int() also takes "1_000" and non-ASCII digits
        raise ValueError(f"{quoted(text)} is not a whole number")
    return int(value)


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _whole(text)
    if value < 1:
        raise ValueError(f"{quoted(text)} is less than 1")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _whole(text)
    if value < 0:
        raise ValueError(f"{quoted(text)} is negative")
    return value


def parse_owner(text: str) -> str:
    """`UID`, `UID:GID` or `UID:GID,GID...` (whole numbers), or "" for none -> the same text."""
    value = str(text).strip()
    if value and not re.fullmatch(r"[0-9]+(:[0-9]+(,[0-9]+)*)?", value):
        raise ValueError(
            f"{quoted(text)} is not UID, UID:GID or UID:GID,GID (whole numbers, as `id -u` and `id -G` print)"
        )
    return value


def parser_for(kind: str) -> Callable[[str], Any]:
    """The parser for a field's declared parser name."""
    parsers: dict[str, Callable[[str], Any]] = {
        "str": str,
        "bool": parse_bool,
        "duration": parse_duration,
        "int": positive_int,
        "count": non_negative_int,
        "address": parse_listen_address,
        "paths": str,
        "owner": parse_owner,
    }
    return parsers[kind]
