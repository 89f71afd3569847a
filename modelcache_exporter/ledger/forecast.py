"""What the next start of the web UI would cost, from what the ledger remembers: no look at the cache itself.

A required model that is not complete now (`required.evaluate`) is looked up in the ledger: the files of it
the ledger has seen (`files`: for a hub repo, the latest revision seen, or the one the requirement pins; only
the requirement's `files` when it names some; for a folder, the latest file seen at each required path) whose
artifact is not present now are what a start would download again, each with the size the ledger recorded.
A required model the ledger never saw anywhere has no known size: it is counted as unknown, never as 0 bytes.

Seconds = bytes / this host's download throughput (`throughput`) + the last measured load duration (the
start itself, downloads aside), per root and for the whole start.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.required import Requirement, Status
from modelcache_exporter.ledger.store import KnownFile

_COMMIT = re.compile(r"[0-9a-f]{40}")
#: What counts as a timed download for the throughput: smaller or quicker ones measure latency, not bandwidth.
MIN_BYTES, MIN_SECONDS = 1 << 20, 1.0
#: The throughput is the median of this many of the latest timed downloads.
SAMPLES = 20


class Known(Protocol):
    """The ledger's memory of files (`store.Store`)."""

    def model_files(self, root: str, model: str) -> list[KnownFile]: ...

    def files_at(self, root: str, paths: list[str]) -> list[KnownFile]: ...


@dataclass(frozen=True)
class Fetch:
    """One file the next start would download: `hf download <repo> <path> --revision <revision>` restores it
    (hub roots; in other layouts `path` is relative to the root)."""

    root: str
    repo: str
    revision: str
    path: str
    bytes: int


@dataclass(frozen=True)
class Throughput:
    """Bytes per second the forecast uses, and how many timed downloads gave it (0: the configured default)."""

    bytes_per_second: float
    samples: int


@dataclass(frozen=True)
class RootForecast:
    """The next start's cost in one root (root "" holds the unknown models that name no root)."""

    root: str
    bytes: int
    unknown_models: int
    seconds: float


@dataclass(frozen=True)
class Forecast:
    """What the next start would download and how long it would take, as of the ledger's last evaluation."""

    bytes: int = 0
    unknown_models: tuple[str, ...] = ()
    throughput: Throughput = Throughput(0.0, 0)
    load_seconds: float | None = None
    seconds: float = 0.0
    files: tuple[Fetch, ...] = ()
    roots: tuple[RootForecast, ...] = ()


def throughput(samples: Iterable[tuple[float, int, float]], default: float) -> Throughput:
    """The median rate of the latest timed downloads ((time, bytes, seconds)); `default` when there are none."""
    timed = sorted((s for s in samples if s[1] >= MIN_BYTES and s[2] >= MIN_SECONDS), reverse=True)[:SAMPLES]
    if not timed:
        return Throughput(float(default), 0)
    return Throughput(statistics.median(b / s for _t, b, s in timed), len(timed))


def _hub_files(req: Requirement, state: RootState, known: Known) -> list[KnownFile]:
    """The files of a hub requirement's revision the ledger has seen in one root."""
    prefix = {"model": "models", "dataset": "datasets", "space": "spaces"}.get(req.repo_type, "models")
    seen = known.model_files(state.name, f"{prefix}--{req.hub.replace('/', '--')}")
    if not seen:
        return []
    pinned = [f for f in seen if f.revision == req.revision] if _COMMIT.fullmatch(req.revision) else []
    rev = pinned[0].revision if pinned else max(seen, key=lambda f: f.seen).revision
    return [f for f in seen if f.revision == rev and (not req.files or f.path in req.files)]


def _dir_files(req: Requirement, state: RootState, known: Known) -> list[KnownFile]:
    """The latest file seen at each path of the required folder the ledger knows most of, in one root."""
    best: list[KnownFile] = []
    for rel in req.dirs:
        paths = [os.path.normpath(os.path.join(rel, f)) for f in req.dir_files]
        latest: dict[str, KnownFile] = {}
        for f in sorted(known.files_at(state.name, paths), key=lambda f: f.seen):
            latest[f.path] = f
        if len(latest) > len(best):
            best = list(latest.values())
    return best


def _places(req: Requirement, states: Sequence[RootState], known: Known) -> list[tuple[str, list[KnownFile]]]:
    """(root, files the ledger knows) of every root where the ledger has seen the required model."""
    out = []
    for s in states:
        if req.root and s.name != req.root:
            continue
        files = _hub_files(req, s, known) if req.hub and s.layout == "hf-hub" else []
        if not files and req.dirs and s.layout != "hf-hub":
            files = _dir_files(req, s, known)
        if files:
            out.append((s.name, files))
    return out


def missing(req: Requirement, status: Status, states: Sequence[RootState], known: Known) -> list[Fetch] | None:
    """What the next start would fetch for one requirement ([] when it is complete); None when the ledger never
    saw it (its size is unknown). Where the ledger saw it in several roots, the root it was evaluated in wins,
    then the one the ledger knows most files of."""
    if status.complete:
        return []
    places = _places(req, states, known)
    if not places:
        return None
    root, files = max(places, key=lambda p: (p[0] == status.root, len(p[1])))
    repo, out, idents = req.hub or req.name, [], set()
    for f in sorted(files, key=lambda f: f.path):
        if not f.present and f.ident not in idents:  # two paths of one blob: fetched once
            idents.add(f.ident)
            out.append(Fetch(root, repo, f.revision, f.path, f.size))
    return out


def forecast(
    required: Sequence[tuple[Requirement, Status]],
    states: Sequence[RootState],
    known: Known,
    rate: Throughput,
    load_seconds: float | None,
) -> Forecast:
    """The next start's cost for every root (each root of `states` is listed, 0 when nothing is missing)."""
    files: list[Fetch] = []
    unknown: list[tuple[str, str]] = []  # (root, model)
    for req, status in required:
        fetch = missing(req, status, states, known)
        if fetch is None:
            unknown.append((req.root or status.root, req.name))
        else:
            files.extend(fetch)
    by_root: dict[str, int] = {s.name: 0 for s in states}
    for f in files:
        by_root[f.root] = by_root.get(f.root, 0) + f.bytes
    for root, _model in unknown:
        by_root.setdefault(root, 0)
    load = load_seconds or 0.0
    roots = tuple(
        RootForecast(r, n, sum(1 for u, _m in unknown if u == r), n / rate.bytes_per_second + load)
        for r, n in sorted(by_root.items())
    )
    total = sum(by_root.values())
    return Forecast(
        total, tuple(m for _r, m in unknown), rate, load_seconds, total / rate.bytes_per_second + load,
        tuple(files), roots,
    )  # fmt: skip
