"""A ModelScope cache (`models/<org>/<name>`, `datasets/<org>/<name>`, or `<org>/<name>` at the top).

Its artifacts are files, as in a plain tree. Models appear two levels down, so the folders above them
are watched too, and any change in the root means: list the models again. Partial downloads sit in
ModelScope's temporary folder `._____temp/`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from modelcache_exporter.layouts.base import LIST
from modelcache_exporter.layouts.plain import PlainLayout
from modelcache_exporter.scan.detect import Layout

_TOPS = ("models", "datasets")


class ModelScopeLayout(PlainLayout):
    """`modelscope`: a plain tree whose models are `[models/|datasets/]org/name`."""

    name: Layout = "modelscope"
    nested = True

    def key_for_root_event(self, name: str, exclude: Iterable[str]) -> str | None:
        """LIST: a root entry is an org (or `models/`), not a model."""
        return LIST

    def listing_dirs(self, path: str) -> list[str]:
        """`models/`, `datasets/` and their orgs, and the orgs at the top (not hidden)."""
        out = []
        for top in _TOPS:
            base = os.path.join(path, top)
            if os.path.isdir(base):
                out.append(base)
                out.extend(p for p in (os.path.join(base, d) for d in _listdir(base)) if os.path.isdir(p))
        out.extend(
            p
            for p in (os.path.join(path, d) for d in _listdir(path))
            if os.path.isdir(p)
            and not os.path.basename(p).startswith(".")
            and p not in out
            and os.path.basename(p) not in _TOPS
        )
        return out


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []
