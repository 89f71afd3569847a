"""The ledger's counters, mutated by its worker and published as an immutable snapshot for scrapes."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from modelcache_exporter.base.published import PUBLISHED
from modelcache_exporter.ledger.classify import REASONS, RETURNED, Arrival
from modelcache_exporter.ledger.settings import LedgerSettings

BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
MAX_REPOS = 50
OTHER = "(other)"
#: downloads remembered per root for the landing page (newest last)
RECENT = 20


class Recent(NamedTuple):
    """One model's downloads of one verdict, finished together (one sync): `files` artifacts, `bytes` in all."""

    time: float
    repo: str
    reason: str
    files: int
    bytes: int


@dataclass
class RootCounters:
    """Everything counted for one root since the exporter started."""

    downloads: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    #: repo -> re-downloads; a repo tracked but never re-downloaded is here at 0 (a dict: a Counter's
    #: equality ignores zeros, and a new zero series must make a new snapshot)
    redownloads: dict[str, int] = field(default_factory=dict)
    #: repo -> when it was last downloaded again (from the ledger's history too: survives restarts)
    last_redownload: dict[str, float] = field(default_factory=dict)
    last_wipe: float = 0.0
    duration_buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    duration_sum: float = 0.0
    wipes: int = 0
    removals: int = 0
    present_files: int = 0
    present_bytes: int = 0
    in_progress: int = 0
    stalled: int = 0
    locks: int = 0
    started: int = 0
    armed: bool = True
    #: removals of the last `wipe_window` seconds: (time, bytes removed, bytes present just before)
    window: deque[tuple[float, int, int]] = field(default_factory=deque)
    #: the latest downloads, oldest first (from the ledger's history too)
    recent: deque[Recent] = field(default_factory=lambda: deque(maxlen=RECENT))

    def observe(self, seconds: float) -> None:
        self.duration_buckets[bisect_left(BUCKETS, seconds)] += 1
        self.duration_sum += seconds

    def copy(self) -> RootCounters:
        return RootCounters(
            Counter(self.downloads),
            Counter(self.bytes),
            dict(self.redownloads),
            dict(self.last_redownload),
            self.last_wipe,
            list(self.duration_buckets),
            self.duration_sum,
            self.wipes,
            self.removals,
            self.present_files,
            self.present_bytes,
            self.in_progress,
            self.stalled,
            self.locks,
            self.started,
            recent=deque(self.recent, maxlen=RECENT),
        )


@dataclass(frozen=True)
class Snapshot:
    """What a scrape reads."""

    generation: int
    roots: dict[str, RootCounters]
    persistent: bool
    errors: dict[str, int]


class Counters:
    """Per-root counters; `publish()` makes a new `snapshot`."""

    def __init__(self) -> None:
        self.roots: dict[str, RootCounters] = {}
        self.persistent = False
        self.errors: dict[str, int] = {}
        self.snapshot = Snapshot(0, {}, False, {})

    def root(self, name: str) -> RootCounters:
        return self.roots.setdefault(name, RootCounters())

    def track(self, name: str, repo: str) -> str:
        """Export the repo's re-download counter from now on (at 0 until one happens), so that the first
        re-download a new exporter instance sees is an increase; the label it counts under (capped)."""
        r = self.root(name)
        key = repo if repo in r.redownloads or len(r.redownloads) < MAX_REPOS else OTHER
        r.redownloads.setdefault(key, 0)
        return key

    def remember(self, name: str, redownloads: dict[str, float], wipe: float, recent: Iterable[Recent] = ()) -> None:
        """The latest re-download of each repo, the latest wipe and downloads (oldest first), from the ledger's
        history."""
        r = self.root(name)
        r.recent.extend(recent)
        for repo, when in redownloads.items():
            key = self.track(name, repo)
            r.last_redownload[key] = max(when, r.last_redownload.get(key, 0.0))
        r.last_wipe = max(r.last_wipe, wipe)

    def set_present(self, name: str, files: int, nbytes: int) -> None:
        r = self.root(name)
        r.present_files, r.present_bytes = files, nbytes

    def set_progress(self, name: str, in_progress: int, stalled: int, locks: int, started: int) -> None:
        r = self.root(name)
        r.in_progress, r.stalled, r.locks, r.started = in_progress, stalled, locks, started

    def apply(
        self,
        name: str,
        repo: str,
        arrivals: list[Arrival],
        removed: list[tuple[str, int]],
        seeding: bool,
        now: float,
        settings: LedgerSettings,
    ) -> None:
        """Count one model's arrivals (unless seeding) and removals; detect a wipe."""
        r = self.root(name)
        counted: Counter[str] = Counter()
        for a in arrivals:
            if not seeding and a.reason != RETURNED:
                counted[a.reason] += 1
            if not a.replaced:
                r.present_files += 1
                r.present_bytes += a.size
            if seeding or a.reason == RETURNED:
                continue
            r.downloads[a.reason] += 1
            r.bytes[a.reason] += a.size
            r.armed = True
            if a.reason == "redownload":
                key = self.track(name, repo)
                r.redownloads[key] = r.redownloads.get(key, 0) + 1
                r.last_redownload[key] = now
            if a.seconds is not None:
                r.observe(a.seconds)
        for reason, n in sorted(counted.items()):
            nbytes = sum(a.size for a in arrivals if a.reason == reason)
            r.recent.append(Recent(now, repo, reason, n, nbytes))
        if removed:
            self._removed(r, sum(size for _i, size in removed), len(removed), now, settings)

    @staticmethod
    def _removed(r: RootCounters, nbytes: int, count: int, now: float, settings: LedgerSettings) -> None:
        """A wipe: the root lost most of its bytes within `wipe_window` seconds (the root deleted, a volume
        missing): what it holds now is below (1 - wipe_ratio) of the most it held before a removal of the
        window. A net loss, not a sum of removals: a cache that churns (old models deleted as new ones
        arrive, files replaced by new versions, a revision pruned after its update) keeps its bytes and is
        never a wipe, however fast it turns over. The window holds one minute of removals."""
        while r.window and now - r.window[0][0] > settings.wipe_window:
            r.window.popleft()
        r.window.append((now, nbytes, r.present_bytes))
        r.removals += count
        r.present_files -= count
        r.present_bytes -= nbytes
        peak = max(before for _t, _b, before in r.window)
        if r.armed and peak > 0 and r.present_bytes < (1 - settings.wipe_ratio) * peak:
            r.wipes += 1
            r.last_wipe = now
            r.armed = False
            r.window.clear()  # these removals made this wipe; another needs a majority of its own

    def publish(self) -> None:
        """Freeze the current values for scrapes (a new generation only when something changed)."""
        roots = {k: v.copy() for k, v in self.roots.items()}
        old = self.snapshot
        if (roots, self.persistent, self.errors) != (old.roots, old.persistent, old.errors) or not old.generation:
            self.snapshot = Snapshot(old.generation + 1, roots, self.persistent, dict(self.errors))
            PUBLISHED.bump()


__all__ = ["BUCKETS", "REASONS", "RECENT", "Counters", "Recent", "RootCounters", "Snapshot"]
