"""Checks of the YAML values of the web configuration file, shared by its parsing (`webconfig`) and its TLS
section (`webtls`): each raises ConfigError naming where in the file the value is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelcache_exporter.base.values import ConfigError, parse_duration

#: Headers the toolkit lets a user add, with their allowed values (empty: any value).
HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
BCRYPT = re.compile(r"\$2[abxy]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}")


def as_mapping(value: object, where: str) -> dict[str, Any]:
    """A mapping with string keys; None (an empty section) is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping")
    return {str(k): v for k, v in value.items()}


def check_known(values: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    """Refuse a key that is not one of `keys`."""
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; supported keys are {', '.join(keys)}")


def as_strings(value: object, where: str) -> tuple[str, ...]:
    """A list of strings; None is an empty one."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def as_bool(value: object, where: str) -> bool:
    """A YAML boolean (true or false, not a string)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false")
    return value


def check_users(value: object, where: str) -> tuple[tuple[str, str], ...]:
    """`basic_auth_users`: (user, bcrypt hash) pairs, sorted."""
    users = as_mapping(value, where)
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not BCRYPT.fullmatch(hashed):
            raise ConfigError(
                f"{where}: the password of {user!r} is not a bcrypt hash; "
                "make one with `python3 -c 'import bcrypt, getpass; "
                "print(bcrypt.hashpw(getpass.getpass().encode(), bcrypt.gensalt(10)).decode())'`"
            )
    return tuple(sorted((str(u), str(h)) for u, h in users.items()))


def check_headers(value: object, where: str) -> tuple[tuple[str, str], ...]:
    """`http_server_config.headers`: the (name, value) pairs to add to every response, sorted."""
    headers = as_mapping(value, where)
    for name, text in headers.items():
        if name not in HEADERS:
            raise ConfigError(f"{where}: header {name!r} cannot be configured; use one of {', '.join(HEADERS)}")
        allowed = HEADERS[name]
        if not isinstance(text, str) or (allowed and text not in allowed) or "\n" in text or "\r" in text:
            fix = f"one of {', '.join(allowed)}" if allowed else "a one-line string"
            raise ConfigError(f"{where}: invalid value {text!r} for {name}; use {fix}")
    return tuple(sorted((k, str(v)) for k, v in headers.items() if v))


def check_rate(rate: Mapping[str, Any], where: str) -> tuple[float, int]:
    """`rate_limit`: (interval in seconds, burst); (0, 0) is no limit."""
    try:
        interval = parse_duration(str(rate.get("interval", 0)))
    except ValueError as exc:
        raise ConfigError(f"{where}.interval: {exc}") from None
    burst = rate.get("burst", 0)
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 0:
        raise ConfigError(f"{where}.burst must be a whole number of requests (e.g. 10)")
    if interval > 0 and burst < 1:
        raise ConfigError(f"{where}.burst must be at least 1 when an interval is set")
    return interval, burst
