"""The YAML configuration file: settings under their dotted flag names, nested or flat, and `roots:`.

web:
  listen-address: ":10860"
collector:
  probe: {enabled: true, interval: 30s}
roots:
  - {path: /models/hub, name: hub, layout: hf-hub}
  - {path: /app/checkpoints, name: checkpoints, layout: hf-local-dir, model: IndexTeam/IndexTTS-2}
"""

from __future__ import annotations

from typing import Any

import yaml

from .roots import RootConfig, root_from_mapping
from .settings import ConfigError


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


def read_config_file(path: str) -> tuple[dict[str, Any], list[RootConfig]]:
    """(settings by dotted flag name, roots) from the file; ConfigError with the fix otherwise."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ConfigError(f"--config.file {path!r}: {exc.strerror}; give a readable YAML file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML; fix the syntax") from None
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings (e.g. 'roots: [...]')")
    items = data.pop("roots", None) or []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: 'roots' must be a list of mappings with a 'path' each")
    roots = [root_from_mapping(item, f"{path}: roots[{i}]") for i, item in enumerate(items)]
    return flatten(data), roots
