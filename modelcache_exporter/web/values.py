"""Checks of the YAML values of the web configuration file, shared by its parsing (`webconfig`) and its TLS
section (`webtls`): each raises ConfigError naming where in the file the value is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelcache_exporter.base.values import ConfigError


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
