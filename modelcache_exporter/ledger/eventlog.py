"""The ledger's log lines, decided where the ledger classifies what changed on disk.

Warnings for what pages: a model downloaded again although the cache had it, a model removed from the cache,
a root wiped (`sync.LedgerSync`); info for the rest: downloads finished (first, new revision), files removed
from a model that stays (an old revision pruned). One line per repo and sync, never one per file. Removed
models wait for the end of the ledger's batch (`flush`), so that a wiped root logs its wipe first; each root
names at most `MAX_NAMED` removed models a minute and sums the others on one line per batch: a wipe of a
thousand models is a dozen lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from modelcache_exporter.base.log import kv
from modelcache_exporter.ledger.classify import Arrival

log = logging.getLogger(__name__)
#: Removed models named per root and `WINDOW` seconds; the others are summed on one line.
MAX_NAMED, WINDOW = 10, 60.0
REDOWNLOAD = "redownload"


def log_downloads(root: str, repo: str, downloads: list[Arrival]) -> None:
    """A model's finished downloads: a warning for the files downloaded again, an info line for the others."""
    again = [a for a in downloads if a.reason == REDOWNLOAD]
    rest = [a for a in downloads if a.reason != REDOWNLOAD]
    if again:
        log.warning(
            "model downloaded again although the cache had it",
            extra=kv(root=root, repo=repo, files=len(again), bytes=sum(a.size for a in again)),
        )
    if rest:
        reasons = ",".join(sorted({a.reason for a in rest}))
        log.info(
            "downloads finished",
            extra=kv(root=root, repo=repo, files=len(rest), bytes=sum(a.size for a in rest), reasons=reasons),
        )


class Removals:
    """Files that left the cache: a model gone as a whole waits for `flush`; files of a model that stays are
    logged at once (info)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._gone: dict[str, list[tuple[str, int, int]]] = {}
        #: per root: (start of its current window, models named in it)
        self._named: dict[str, tuple[float, int]] = {}

    def removed(self, root: str, repo: str, sizes: list[int], whole: bool) -> None:
        """`sizes` of the files of `repo` that went; `whole`: nothing of the model is left."""
        if not sizes:
            return
        if whole:
            self._gone.setdefault(root, []).append((repo, len(sizes), sum(sizes)))
            return
        log.info("files removed from a model", extra=kv(root=root, repo=repo, files=len(sizes), bytes=sum(sizes)))

    def flush(self) -> None:
        """Log the models removed since the last flush: by name while the root's budget lasts, the rest summed."""
        now = self.clock()
        for root, gone in sorted(self._gone.items()):
            start, used = self._named.get(root, (now, 0))
            if now - start >= WINDOW:
                start, used = now, 0
            named, rest = gone[: MAX_NAMED - used], gone[MAX_NAMED - used :]
            self._named[root] = (start, used + len(named))
            for repo, files, nbytes in named:
                log.warning("model removed from the cache", extra=kv(root=root, repo=repo, files=files, bytes=nbytes))
            if rest:
                files, nbytes = sum(f for _r, f, _b in rest), sum(b for _r, _f, b in rest)
                log.warning(
                    "more models removed from the cache",
                    extra=kv(root=root, models=len(rest), files=files, bytes=nbytes),
                )
        self._gone.clear()
