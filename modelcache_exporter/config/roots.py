"""Cache roots: what the configuration names, or what the libraries would use when it names none."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace

from modelcache_exporter.base.rootconfig import RootConfig, nested_excludes
from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.scan import LAYOUTS

ROOT_KEYS = ("path", "name", "layout", "model", "probe_dir")


def discover_roots(environ: Mapping[str, str]) -> list[RootConfig]:
    """The caches the libraries would use on this host, resolved as they resolve them.

    The HF hub cache always (a missing one is what on-call must see); the Xet, torch and ModelScope
    caches when their variable is set or the folder exists.
    """
    from huggingface_hub import constants  # read at import time, from this process's environment

    home = os.path.expanduser("~")
    xdg = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    found = [RootConfig("hub", constants.HF_HUB_CACHE, "hf-hub", origin="HF_HUB_CACHE")]
    candidates = [
        ("xet", "HF_XET_CACHE", os.path.join(constants.HF_HOME, "xet"), "plain"),
        ("torch", "TORCH_HOME", os.path.join(xdg, "torch"), "plain"),
        ("modelscope", "MODELSCOPE_CACHE", os.path.join(home, ".cache", "modelscope", "hub"), "modelscope"),
    ]
    for name, var, default, layout in candidates:
        path = environ.get(var) or default
        if name == "torch":
            path = os.path.join(path, "hub")
        if environ.get(var) or os.path.isdir(path):
            found.append(RootConfig(name, path, layout, origin=var))
    return found


def root_from_mapping(item: object, where: str) -> RootConfig:
    """A `roots:` entry of the configuration file."""
    if not isinstance(item, dict) or "path" not in item:
        raise ConfigError(f"{where}: each entry needs a 'path' (e.g. '- path: /models/hub')")
    unknown = sorted(set(item) - set(ROOT_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(ROOT_KEYS)}")
    values = {k: str(v) for k, v in item.items() if v is not None}
    return RootConfig(
        name=values.get("name", ""),
        path=values["path"],
        layout=values.get("layout", "auto"),
        model=values.get("model", ""),
        probe_dir=values.get("probe_dir", ""),
        origin="config file",
    )


def finish_roots(roots: Iterable[RootConfig]) -> tuple[RootConfig, ...]:
    """Absolute paths, unique names (derived from the folder when not given), validated layouts."""
    done: list[RootConfig] = []
    names: set[str] = set()
    for root in roots:
        path = os.path.abspath(os.path.expanduser(root.path))
        if root.layout not in ("auto", *LAYOUTS):
            raise ConfigError(
                f"root {root.path!r}: unknown layout {root.layout!r}; use one of auto, {', '.join(LAYOUTS)}"
            )
        name = root.name or os.path.basename(path.rstrip(os.sep)) or "root"
        if root.name and name in names:
            raise ConfigError(f"two cache roots are named {name!r}; give each root a unique 'name'")
        base, n = name, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.add(name)
        probe = os.path.abspath(os.path.expanduser(root.probe_dir)) if root.probe_dir else ""
        done.append(replace(root, name=name, path=path, probe_dir=probe))
    return tuple(done)


def merge_paths(paths: Iterable[str], described: Iterable[RootConfig], origin: str) -> list[RootConfig]:
    """Roots given as bare paths (flags, environment) take name and layout from the file when it lists them."""
    by_path = {os.path.abspath(os.path.expanduser(r.path)): r for r in described}
    out = []
    for p in paths:
        full = os.path.abspath(os.path.expanduser(p))
        out.append(replace(by_path[full], origin=origin) if full in by_path else RootConfig("", full, origin=origin))
    return out


def check_probe_dirs(roots: Iterable[RootConfig], extra: Iterable[str] = ()) -> None:
    """A probe directory must never lie inside a cache root: the exporter never writes into a cache."""
    roots = list(roots)
    for probe in [*(r.probe_dir for r in roots), *extra]:
        if not probe:
            continue
        for root in roots:
            rel = os.path.relpath(os.path.realpath(probe), os.path.realpath(root.path))
            if rel == "." or not rel.startswith(".."):
                raise ConfigError(
                    f"probe directory {probe!r} is inside cache root {root.path!r}; "
                    "put it on the same filesystem but outside the cache (e.g. the state directory)"
                )


__all__ = [
    "ROOT_KEYS",
    "RootConfig",
    "check_probe_dirs",
    "discover_roots",
    "finish_roots",
    "merge_paths",
    "nested_excludes",
    "root_from_mapping",
]
