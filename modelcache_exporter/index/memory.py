"""The layouts the exporter has detected, remembered per root path across wipes and restarts.

One small JSON file in the state directory, `layouts.json`: `{"<absolute root path>": "<layout>"}`,
replaced atomically (a temporary file in the same folder, fsync'ed, then renamed over it). The file is
never written inside a cache root (the exporter never writes into a cache). Without a usable state
directory (unset, unwritable, inside a root) the layouts are kept in memory only, which is logged once.
A file that cannot be read or parsed is ignored, with a log line: detection starts afresh.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterable

from modelcache_exporter.base.log import kv
from modelcache_exporter.scan import LAYOUTS

log = logging.getLogger(__name__)
FILENAME = "layouts.json"


def read_layouts(path: str) -> dict[str, str]:
    """The remembered layouts in `path`; {} when it is missing, unreadable or not such a mapping (logged)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("layout memory unreadable; ignored (%s)", exc, extra=kv(path=path))
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and v in LAYOUTS for k, v in data.items()):
        log.warning("layout memory is not a mapping of root paths to layouts; ignored", extra=kv(path=path))
        return {}
    return dict(data)


def inside(path: str, roots: Iterable[str]) -> bool:
    """True when `path` lies inside (or is) one of `roots`, symlinks resolved."""
    real = os.path.realpath(path)
    for root in roots:
        rel = os.path.relpath(real, os.path.realpath(root))
        if rel == "." or not rel.startswith(".."):
            return True
    return False


class LayoutMemory:
    """Remembered layouts by absolute root path; shared by the roots' workers (thread-safe)."""

    def __init__(self, state_dir: str = "", roots: Iterable[str] = ()) -> None:
        self.path = os.path.join(state_dir, FILENAME) if state_dir else ""
        self._why_not = "" if self.path else "no state directory"
        if self.path and inside(self.path, roots):
            self._why_not = "the state directory is inside a cache root"
        self._layouts = read_layouts(self.path) if self.path else {}
        self._lock = threading.Lock()
        self._warned = False

    def recall(self, root: str) -> str | None:
        """The layout remembered for the root at `root`, if any."""
        with self._lock:
            return self._layouts.get(root)

    def remember(self, root: str, layout: str) -> None:
        """Record a detected layout (and write the file, unless memory-only)."""
        with self._lock:
            if self._layouts.get(root) == layout:
                return
            self._layouts[root] = layout
            why = self._why_not
            if not why:
                try:
                    self._write(dict(self._layouts))
                    return
                except OSError as exc:  # tried again at the next decision, logged once
                    why = exc.strerror or str(exc)
            if not self._warned:
                self._warned = True
                log.warning(
                    "detected layouts are kept in memory only (%s): a restart detects them afresh",
                    why,
                    extra=kv(path=self.path),
                )

    def _write(self, layouts: dict[str, str]) -> None:
        tmp = f"{self.path}.tmp{os.getpid()}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(layouts, fh, indent=1, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
