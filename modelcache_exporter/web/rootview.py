"""One cache root as the landing page shows it: a status word that is `OK` only when nothing is wrong, what is
wrong (each finding names the repo), its storage, its index, its models largest first. Pure: built from the
index's `RootState`, the filesystem sample and the ledger's counters, with no filesystem access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.stats import REASONS, Recent, RootCounters
from modelcache_exporter.scan.model import IncompleteFile, Model, Revision
from modelcache_exporter.web.findings import Finding, Storage, model_problems, root_findings

#: models listed per root (the rest is "and N more"), revisions per model, recent downloads per root
MAX_MODELS, MAX_REVISIONS, MAX_RECENT = 50, 5, 10


@dataclass(frozen=True)
class RevisionView:
    """A snapshot of a repo: its short commit, the refs naming it (`main` marked)."""

    commit: str
    refs: tuple[str, ...]
    files: int
    size_bytes: int

    @property
    def main(self) -> bool:
        """Whether `main` (what a plain `from_pretrained` loads) names this revision."""
        return "main" in self.refs


@dataclass(frozen=True)
class ModelView:
    """One model: its repo, size, revisions (main first) and what is wrong with it."""

    repo: str
    repo_type: str
    size_bytes: int
    files: int
    fingerprint: str
    revisions: tuple[RevisionView, ...]
    more_revisions: int
    problems: tuple[Finding, ...]


@dataclass(frozen=True)
class PartialView:
    """A download in progress (or stalled): its file, the repo it belongs to, bytes so far, last growth."""

    repo: str
    path: str
    size_bytes: int
    idle_seconds: float
    stalled: bool


@dataclass(frozen=True)
class IndexView:
    """Where the index of this root stands."""

    state: str
    mode: str
    last_scan: float
    last_change: float


@dataclass(frozen=True)
class RootView:
    """Everything the page says about one root."""

    name: str
    path: str
    layout: str
    layout_source: str
    status: str
    level: str
    findings: tuple[Finding, ...]
    storage: Storage
    present: bool
    size_bytes: int
    files: int
    models: tuple[ModelView, ...]
    more_models: int
    partials: tuple[PartialView, ...]
    index: IndexView
    downloads: tuple[tuple[str, int, int], ...]  # (verdict, files, bytes) since the exporter started
    recent: tuple[Recent, ...]  # newest first


def root_view(
    s: RootState, storage: Storage, counters: RootCounters | None, stall_after: float, now: float
) -> RootView:
    """The view of one root at `now` (`counters`: the ledger's, None without a ledger)."""
    findings = root_findings(s, storage, counters, stall_after, now)
    worst = max(findings, key=lambda f: f.rank, default=None)
    ordered = sorted(s.models, key=lambda m: (-m.size_bytes, m.repo_id))
    models = tuple(_model(m, stall_after, now) for m in ordered[:MAX_MODELS])
    recent = tuple(reversed(counters.recent))[:MAX_RECENT] if counters else ()
    return RootView(
        s.name, s.path, s.layout, s.layout_source,
        worst.word if worst else "OK", worst.level if worst else "ok",
        tuple(sorted(findings, key=lambda f: -f.rank)), storage, s.present, s.size_bytes, s.files,
        models, max(0, len(ordered) - MAX_MODELS), _partials(s, stall_after, now), _index(s),
        _downloads(counters), recent,
    )  # fmt: skip


def _model(m: Model, stall_after: float, now: float) -> ModelView:
    revs = sorted(m.revisions, key=lambda r: ("main" not in r.refs, -r.last_modified, r.commit))
    shown = tuple(_revision(r) for r in revs[:MAX_REVISIONS])
    problems = model_problems(m, stall_after, now)
    return ModelView(
        m.repo_id, m.repo_type, m.size_bytes, m.files, m.fingerprint, shown, max(0, len(revs) - MAX_REVISIONS), problems
    )


def _revision(r: Revision) -> RevisionView:
    return RevisionView(r.commit[:12], r.refs, r.files, r.size_bytes)


def _partials(s: RootState, stall_after: float, now: float) -> tuple[PartialView, ...]:
    """Every partial download of the root, the oldest growth first (a stalled one is the one to look at)."""
    owners: dict[str, tuple[str, str]] = {f.path: (m.repo_id, m.key) for m in s.models for f in m.incomplete}
    files: Sequence[IncompleteFile] = sorted(s.incomplete, key=lambda f: f.mtime)
    return tuple(
        PartialView(repo, _within(f.path, key), f.size_bytes, max(0.0, now - f.mtime), now - f.mtime > stall_after)
        for f in files[:MAX_MODELS]
        for repo, key in [owners.get(f.path, ("", ""))]
    )


def _within(path: str, key: str) -> str:
    """A partial file's path inside its model's folder (the root-relative path when it has none)."""
    return path[len(key) + 1 :] if key not in ("", ".") and path.startswith(key + "/") else path


def _index(s: RootState) -> IndexView:
    if not s.ready:
        state = "scanning (first scan in progress)"
    elif not s.present:
        state = f"waiting for the root to appear ({s.problem or 'missing'})"
    elif s.problem:
        state = f"cannot read the root ({s.problem})"
    elif s.layout == "unknown":
        state = "watching: nothing in the root tells its layout yet"
    else:
        state = "verified" if s.verified else "sizes known; verifying links"
    return IndexView(state, s.mode, s.last_scan_time, s.last_change_time)


def _downloads(counters: RootCounters | None) -> tuple[tuple[str, int, int], ...]:
    if counters is None:
        return ()
    return tuple((r, counters.downloads.get(r, 0), counters.bytes.get(r, 0)) for r in REASONS)
