"""inotify watches through watchdog's `InotifyFD`: one descriptor and one reader thread for the
whole process, however many directories are watched.

Two watchdog traps are avoided on purpose. The event mask is explicit and never includes
IN_OPEN, IN_ACCESS or IN_CLOSE_NOWRITE: with watchdog's default mask, the exporter's own scans
would flood the queue (more than ~4,100 directories livelock in overflow/re-walk cycles). And
there is no `Observer.schedule()` per directory, which would start one emitter thread each.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_inotify: Any
try:  # Linux only; elsewhere every root is polled
    from watchdog.observers import inotify_c as _inotify
except (ImportError, OSError):  # pragma: no cover - non-Linux
    _inotify = None
_C: Any = _inotify.InotifyConstants if _inotify is not None else None

#: Create, delete, rename in or out, file written and closed; the watched folder itself deleted or moved.
MASK = (
    (
        _C.IN_CREATE
        | _C.IN_DELETE
        | _C.IN_MOVED_FROM
        | _C.IN_MOVED_TO
        | _C.IN_CLOSE_WRITE
        | _C.IN_DELETE_SELF
        | _C.IN_MOVE_SELF
        | _C.IN_ATTRIB
        | _C.IN_ONLYDIR
    )
    if _C is not None
    else 0
)
SELF_GONE = (_C.IN_DELETE_SELF | _C.IN_MOVE_SELF | _C.IN_UNMOUNT) if _C is not None else 0

#: A sink receives (event kind, name within the watched folder, inotify mask).
#: Kinds: "event", "gone" (watch removed by the kernel), "overflow".
Sink = Callable[[str, str, int], None]


class WatchLimitReached(Exception):
    """The kernel's (or our per-root) watch budget is used up."""


class _Callback:
    """watchdog `WatchCallback` for one watched folder; forwards to the owner's sink."""

    __slots__ = ("sink",)

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def on_event(self, event: Any) -> None:
        self.sink("event", os.fsdecode(event.name or b""), int(event.mask))

    def on_watch_deleted(self, wd: int) -> None:
        self.sink("gone", "", 0)

    def on_queue_overflow(self) -> None:
        self.sink("overflow", "", 0)


class Watcher:
    """Adds and removes folder watches on one shared inotify instance."""

    def __init__(self) -> None:
        if _inotify is None:
            raise OSError(errno.ENOSYS, "inotify is not available on this platform")
        self._fd: Any = _inotify.InotifyFD()
        self._fd.daemon = True
        self._fd.start()
        self._ids = itertools.count(1)

    def add(self, path: str, sink: Sink, follow: bool = True) -> tuple[int, int] | None:
        """Watch `path`; returns a handle, None when the folder is gone, unreadable, or (with `follow`
        False) a symlink: only a root may be a link, the folders inside it are never watched through one.

        None too for a path longer than PATH_MAX (ENAMETOOLONG): that one folder is not watched (the scan
        reports it as a `name_too_long` error), the rest of the root still is. Raises WatchLimitReached
        when the kernel refuses more watches (ENOSPC) and OSError for other failures.
        """
        cid = next(self._ids)
        mask = MASK if follow else MASK | _C.IN_DONT_FOLLOW
        try:
            wd = self._fd.add_callback(os.fsencode(path), mask, _Callback(sink), cid)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise WatchLimitReached(str(exc)) from exc
            if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
                return None
            raise
        if wd < 0:  # watchdog swallows EACCES and hands back -1
            self._fd.remove_callbacks([(wd, cid)])
            return None
        return wd, cid

    def remove(self, handle: tuple[int, int]) -> None:
        """Stop watching (a no-op when the kernel already dropped the watch)."""
        self._fd.remove_callbacks([handle])

    def close(self) -> None:
        """Drop every watch and stop the reader thread."""
        self._fd.stop()
