"""Verifying one model: what the exporter's worker process runs, and what `check --verify` runs in-process."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from modelcache_exporter.integrity.hashing import Budget, digest
from modelcache_exporter.integrity.results import Verdicts, identity
from modelcache_exporter.integrity.targets import Target, model_targets


@dataclass(frozen=True)
class ModelResult:
    """One model's verification: files and bytes whose hash matched, files whose hash did not (their names:
    blob name or path in the model), files with no hash to check, files that could not be read, bytes read
    this time (0 for files known unchanged since they were hashed), and `busy`: a download into it was in
    progress, so it was not verified (its last result stands)."""

    key: str
    files: int = 0
    bytes: int = 0
    corrupt: tuple[str, ...] = ()
    unverifiable: int = 0
    unreadable: int = 0
    hashed_bytes: int = 0
    busy: bool = False


def verify_model(
    root: str,
    layout: str,
    key: str,
    db_path: str,
    rate: float,
    progress: Callable[[int], None] | None = None,
) -> ModelResult:
    """Verify model `key` of the root at `root`: each file whose identity is unchanged since a verdict in
    `db_path` keeps it, the others are hashed at most `rate` bytes a second (0: no limit). `progress` is told
    the bytes of each file done."""
    mt = model_targets(root, layout, key)
    if mt.busy:
        return ModelResult(key, unverifiable=mt.unverifiable, busy=True)
    verdicts, budget = Verdicts(db_path), Budget(rate)
    files = size = unreadable = 0
    corrupt: list[str] = []
    try:
        for t in mt.targets:
            got = _check(t, verdicts, budget)
            if got is None:
                unreadable += 1
            elif got[0]:
                files, size = files + 1, size + got[1]
            else:
                corrupt.append(t.name)
            if progress is not None and got is not None:
                progress(got[1])
    finally:
        verdicts.close()
    return ModelResult(key, files, size, tuple(corrupt), mt.unverifiable, unreadable, budget.read)


def _check(t: Target, verdicts: Verdicts, budget: Budget) -> tuple[bool, int] | None:
    """(hash matches, size) of one file; None when it cannot be read (or changed while it was read)."""
    try:
        st = os.stat(t.path)
        ident = identity(st)
        known = verdicts.get(t.path, ident, t.expected)
        if known is not None:
            return known, st.st_size
        hexdigest, _n = digest(t.path, t.algo, budget)
        if identity(os.stat(t.path)) != ident:
            return None  # written while read: the next pass hashes it again
    except OSError:
        return None
    ok = hexdigest == t.expected
    verdicts.put(t.path, ident, t.algo, t.expected, ok, time.time())
    return ok, st.st_size
