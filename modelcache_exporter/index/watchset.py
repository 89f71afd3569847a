"""Which folders of a root are watched, and what an event in each of them means.

Downloads only ever land in a few places, so that is all we watch:
- hf-hub: the root (new and removed repos), and per repo `blobs/` (downloads, incl. the rename of
  `*.incomplete` into place) and `snapshots/` (new revisions) - two watches per repo. The repo
  folder itself is watched only until both exist.
- hf-local-dir, plain, modelscope: every folder of the tree (these trees have few folders), up to
  the per-root budget; beyond it the root is polled instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from modelcache_exporter.index.watch import Sink, Watcher, WatchLimitReached

#: An event is reported as (target, kind, name, mask); target is a model key, "" for the root
#: listing, or "/store" for the shared blob store.
Report = Callable[[str, str, str, int], None]
ROOT = ""


class WatchSet:
    """Watches of one root, keyed by folder path, each tagged with the model key it belongs to."""

    def __init__(self, watcher: Watcher, report: Report, limit: int) -> None:
        self._watcher, self._report, self._limit = watcher, report, limit
        self._handles: dict[str, tuple[tuple[int, int], str]] = {}

    def __len__(self) -> int:
        return len(self._handles)

    def watch(self, path: str, target: str) -> bool:
        """Watch `path` for `target`; False when the folder is not there (yet)."""
        if path in self._handles:
            return True
        if len(self._handles) >= self._limit:
            raise WatchLimitReached(f"more than {self._limit} folders to watch")
        sink: Sink = lambda kind, name, mask: self._report(target, kind, name, mask)  # noqa: E731
        handle = self._watcher.add(path, sink, follow=target == ROOT)
        if handle is None:
            return False
        self._handles[path] = (handle, target)
        return True

    def unwatch(self, path: str) -> None:
        """Stop watching one folder."""
        entry = self._handles.pop(path, None)
        if entry is not None:
            self._watcher.remove(entry[0])

    def forget_gone(self) -> None:
        """Drop handles of folders that no longer exist (the kernel removed their watches)."""
        for path in [p for p in self._handles if not os.path.isdir(p)]:
            self.unwatch(path)

    def drop(self, target: str) -> None:
        """Stop watching every folder of one model."""
        for path in [p for p, (_h, t) in self._handles.items() if t == target]:
            self.unwatch(path)

    def clear(self) -> None:
        """Stop watching everything."""
        for path in list(self._handles):
            self.unwatch(path)


def dir_signature(paths: Iterator[str] | list[str]) -> tuple[tuple[str, int], ...]:
    """(path, mtime_ns) of each folder: it changes whenever an entry is added, removed or renamed."""
    sig = []
    for p in paths:
        try:
            sig.append((p, os.stat(p).st_mtime_ns))
        except OSError:
            sig.append((p, -1))
    return tuple(sig)
