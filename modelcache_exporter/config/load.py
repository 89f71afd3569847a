"""Loading the configuration: flags > `MODELCACHE_*` environment > YAML file > defaults, then validation.

The settings themselves are declared in `config.py`; this module merges the sources and checks them.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from modelcache_exporter.base.values import ConfigError, parser_for, quoted
from modelcache_exporter.config import roots as rootmod
from modelcache_exporter.config.file import FileConfig, read_config_file
from modelcache_exporter.config.flags import Config, default_state_dir, env_name, settings
from modelcache_exporter.config.helptext import example
from modelcache_exporter.ledger.required import profile
from modelcache_exporter.logs.rules import sources as logsrc
from modelcache_exporter.web.config import WebConfig, load_web_config


def _parse(f: Any, raw: Any, source: str) -> Any:
    kind = f.metadata["kind"]
    if kind == "paths":
        items = raw.split(os.pathsep) if isinstance(raw, str) else list(raw)
        return tuple(str(p) for p in items if str(p))
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    choices = f.metadata.get("choices") or ()
    try:
        value = parser_for(kind)(text)
        if choices and value not in choices and (value or f.default):
            raise ValueError(f"{quoted(text)} is not one of {', '.join(choices)}")
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc} (example: {example(f, source)})") from None
    return text if kind == "address" else value


def load_config(flags: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    """Merge the sources. `flags` holds only the flags given on the command line."""
    path = flags.get("config.file") or environ.get(env_name("config.file"), "")
    file = read_config_file(path) if path else FileConfig()
    file_values, file_roots = file.values, file.roots
    known = {f.metadata["flag"] for f in settings()}
    unknown = sorted(set(file_values) - known)
    if unknown:
        near = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"did you mean {near[0]!r}?" if near else "see --help for the settings"
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; {hint}")
    values: dict[str, Any] = {}
    for f in settings():
        flag = f.metadata["flag"]
        if flag in flags:
            values[f.name] = _parse(f, flags[flag], f"--{flag}")
        elif env_name(flag) in environ:
            values[f.name] = _parse(f, environ[env_name(flag)], env_name(flag))
        elif flag in file_values:
            values[f.name] = _parse(f, file_values[flag], f"{path}: {flag}")
    cfg = Config(**values)
    return _choose_logs(_validate(cfg, _choose_roots(cfg, flags, environ, file_roots)), flags, file)


def _choose_logs(cfg: Config, flags: Mapping[str, Any], file: FileConfig) -> Config:
    """Log sources (flag paths or the file's list) and patterns, validated now rather than at start."""

    origin = "--path.webui-log" if "path.webui-log" in flags else env_name("path.webui-log")
    sources = logsrc.finish_sources(cfg.path_webui_log, file.logs, origin)
    for source in sources:
        logsrc.build_table(source, file.patterns)
    if cfg.logs_max_line_bytes < 1024:
        raise ConfigError(
            f"--collector.logs.max-line-bytes: {cfg.logs_max_line_bytes} is below 1024 "
            "(example: --collector.logs.max-line-bytes=65536)"
        )
    if cfg.webui_process_pattern:
        logsrc.check_regex(cfg.webui_process_pattern, "--collector.webui.process-pattern")
    required = (*profile(cfg.required_profile), *file.required)
    return replace(cfg, log_sources=sources, log_patterns=tuple(file.patterns), required=required)


def _choose_roots(
    cfg: Config, flags: Mapping[str, Any], environ: Mapping[str, str], file_roots: Sequence[rootmod.RootConfig]
) -> tuple[rootmod.RootConfig, ...]:
    if cfg.path_cache:
        origin = "--path.cache" if "path.cache" in flags else env_name("path.cache")
        chosen = rootmod.merge_paths(cfg.path_cache, file_roots, origin)
    elif file_roots:
        chosen = list(file_roots)
    else:
        chosen = rootmod.discover_roots(environ)
    return rootmod.finish_roots(chosen)


def _validate(cfg: Config, roots: tuple[rootmod.RootConfig, ...]) -> Config:

    if not cfg.web_telemetry_path.startswith("/"):
        path = quoted(cfg.web_telemetry_path)
        raise ConfigError(
            f"--web.telemetry-path: {path} does not start with / (example: --web.telemetry-path=/metrics)"
        )
    rootmod.check_probe_dirs(roots, [cfg.probe_dir])
    state = os.path.abspath(os.path.expanduser(cfg.path_state or default_state_dir()))
    web = load_web_config(cfg.web_config_file) if cfg.web_config_file else WebConfig()
    return replace(cfg, roots=roots, path_state=state, web=web)
