"""Which layout a cache root is in, from what is on disk; `unknown` until its content says so.

Decisive content, in this order:
- `.cache/huggingface/` -> hf-local-dir (huggingface_hub's `--local-dir` metadata);
- `.locks`, `CACHEDIR.TAG`, a `models--`/`datasets--`/`spaces--` folder or the marked shared Xet store
  (`blobs/.huggingface-shared-blobs`) -> hf-hub;
- ModelScope's temporary folder `._____temp`, a root named `modelscope`, or `models` next to a
  `.msc` file -> modelscope;
- any other visible entry -> plain.

Not decisive: a missing or unreadable folder, an empty one, `lost+found` (a fresh ext4 volume has it),
hidden entries alone (an rsync temporary `.name.XXXXXX`, `.DS_Store`), and the folders of nested roots
(`exclude`). Such a root is `unknown`: never `plain` by default, because an empty folder is exactly what
a wiped cache or a freshly mounted volume looks like.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Literal

from modelcache_exporter.scan import hub, plain
from modelcache_exporter.scan.store import store_path

Layout = Literal["hf-hub", "hf-local-dir", "plain", "modelscope"]
LAYOUTS: tuple[Layout, ...] = ("hf-hub", "hf-local-dir", "plain", "modelscope")
UNKNOWN: Literal["unknown"] = "unknown"
#: Entries that a root may hold without saying anything about its layout (besides hidden ones).
NEUTRAL = frozenset({plain.LOST_FOUND})


def detect_layout(path: str, exclude: Iterable[str] = ()) -> Layout | Literal["unknown"]:
    """The layout the root's content identifies, or `unknown` when nothing in it is decisive."""
    try:
        names = set(os.listdir(path)) - set(exclude)
    except OSError:
        return UNKNOWN
    if os.path.isdir(os.path.join(path, ".cache", "huggingface")):
        return "hf-local-dir"
    if {".locks", "CACHEDIR.TAG"} & names or any(hub.parse_repo_dirname(n) for n in names) or store_path(path):
        return "hf-hub"
    visible = {n for n in names if not n.startswith(".") and n not in NEUTRAL}
    if plain.MODELSCOPE_TEMP in names:
        return "modelscope"
    if not visible:
        return UNKNOWN
    if os.path.basename(os.path.normpath(path)) == "modelscope":
        return "modelscope"
    if "models" in visible and os.path.isfile(os.path.join(path, ".msc")):
        return "modelscope"
    return "plain"
