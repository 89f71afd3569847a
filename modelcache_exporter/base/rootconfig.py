"""A cache root as configured: shared by the configuration (which builds it) and everything that watches it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RootConfig:
    """One cache root. `layout` is `auto` until detected; `model` names a local-dir root's model."""

    name: str
    path: str
    layout: str = "auto"
    model: str = ""
    probe_dir: str = ""
    origin: str = "configured"


def nested_excludes(root: RootConfig, roots: Iterable[RootConfig]) -> tuple[str, ...]:
    """Root-relative paths of the other roots inside `root`, so that no byte is counted twice."""
    out = []
    for other in roots:
        rel = os.path.relpath(other.path, root.path)
        if other is not root and rel != "." and not rel.startswith(".."):
            out.append(rel.replace(os.sep, "/"))
    return tuple(sorted(out))
