"""The YAML configuration file: settings under their dotted flag names, nested or flat, and `roots:`.

web:
  listen-address: ":10860"
collector:
  probe: {enabled: true, interval: 30s}
roots:
  - {path: /models/hub, name: hub, layout: hf-hub}
  - {path: /app/checkpoints, name: checkpoints, layout: hf-local-dir, model: IndexTeam/IndexTTS-2}
logs:      # web UI logs (see modelcache_exporter/logs/rules/sources.py)
  - {name: webui, path: /app/webui.log}
required:  # models that must be complete before the next restart (see exporter/ledger/required.py)
  - {hub: facebook/w2v-bert-2.0, files: [config.json, model.safetensors]}
patterns:  # custom line patterns for other model servers
  - {name: vllm_ready, regex: '^INFO: +Application startup complete', event: ready, profile: vllm}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelcache_exporter.base.values import ConfigError, read_yaml
from modelcache_exporter.config.roots import RootConfig, root_from_mapping
from modelcache_exporter.ledger.required import Requirement, requirement_from_mapping
from modelcache_exporter.logs.rules.sources import (
    LogSourceConfig,
    PatternConfig,
    pattern_from_mapping,
    source_from_mapping,
)


@dataclass(frozen=True)
class FileConfig:
    """What the file holds: settings by dotted flag name, cache roots, log sources, custom patterns."""

    values: dict[str, Any] = field(default_factory=dict)
    roots: list[RootConfig] = field(default_factory=list)
    logs: list[LogSourceConfig] = field(default_factory=list)
    patterns: list[PatternConfig] = field(default_factory=list)
    required: list[Requirement] = field(default_factory=list)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings -> dotted keys; `_` in keys reads as `-`; `x.enabled` reads as `x`."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{str(key).replace('_', '-')}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name.removesuffix(".enabled")] = value
    return flat


def _entries(data: dict[str, Any], key: str, path: str) -> list[Any]:
    items = data.pop(key, None) or []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: '{key}' must be a list of mappings")
    return items


def read_config_file(path: str) -> FileConfig:
    """Settings, roots, log sources and patterns from the file; ConfigError with the fix otherwise."""
    data = read_yaml(path, "--config.file")
    if data is None:
        return FileConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings (e.g. 'roots: [...]')")
    items = data.pop("roots", None) or []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: 'roots' must be a list of mappings with a 'path' each")
    roots = [root_from_mapping(item, f"{path}: roots[{i}]") for i, item in enumerate(items)]
    logs = [source_from_mapping(x, f"{path}: logs[{i}]") for i, x in enumerate(_entries(data, "logs", path))]
    pats = [pattern_from_mapping(x, f"{path}: patterns[{i}]") for i, x in enumerate(_entries(data, "patterns", path))]
    reqs = [
        requirement_from_mapping(x, f"{path}: required[{i}]") for i, x in enumerate(_entries(data, "required", path))
    ]
    return FileConfig(flatten(data), roots, logs, pats, reqs)
