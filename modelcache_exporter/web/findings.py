"""What is wrong with a root or a model, in words an on-call person acts on. Each finding has a level (`crit`:
models are gone or cannot be seen; `warn`: something to fix before it bites; `info`: worth knowing) and the
status word it gives its root. Pure: from the index's state, a filesystem sample and the ledger's counters."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from modelcache_exporter.base.human import ago, count, duration, size
from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.stats import RootCounters
from modelcache_exporter.scan.model import Model

LEVELS = ("ok", "info", "warn", "crit")
#: a wipe stays on the page this long
WIPE_SHOWN = 24 * 3600.0
#: repos named per finding (the rest counted)
MAX_NAMED = 5
CORRUPTION = {
    "broken_link": "broken snapshot link (its blob is missing)",
    "missing_snapshots": "no snapshots/ folder",
    "snapshot_is_file": "a file where a revision folder should be",
    "dangling_ref": "dangling ref (names a revision that has no snapshot)",
    "bad_repo_name": "folder that is not a repo",
    "external_link": "snapshot link out of the cache root (not followed)",
}
ERRORS = {
    "permission": "permission denied",
    "vanished": "vanished while read",
    "not_a_directory": "not a directory",
    "symlink_loop": "symlink loop",
    "name_too_long": "path too long to read",
    "io_error": "I/O error",
}


@dataclass(frozen=True)
class Finding:
    """One thing the page reports: its level, the root status word it gives, what it says."""

    level: str
    word: str
    text: str

    @property
    def rank(self) -> int:
        """0 (ok) to 3 (crit)."""
        return LEVELS.index(self.level)


@dataclass(frozen=True)
class Storage:
    """The filesystem under a root as last sampled: `verdict` is `persistent`, why it is not (tmpfs, overlay,
    emptydir...), or `unknown` (not sampled yet, the sample failed, or the filesystem collector is off)."""

    verdict: str = "unknown"
    fstype: str = ""
    mountpoint: str = ""
    size_bytes: int = 0
    avail_bytes: int = 0
    error: str = ""


def root_findings(
    s: RootState, storage: Storage, counters: RootCounters | None, stall_after: float, now: float
) -> list[Finding]:
    """Everything wrong with one root, the worst first."""
    out = _presence(s, counters, now)
    if s.present and not s.problem:
        out += _repo_problems(s)
        out += _downloads(s, counters, stall_after, now)
    out += _storage(storage)
    return out


def _presence(s: RootState, counters: RootCounters | None, now: float) -> list[Finding]:
    out = []
    if not s.ready:
        out.append(Finding("info", "SCANNING", "first scan in progress: models and sizes are not known yet"))
    elif not s.present:
        word = "NOT A DIRECTORY" if s.problem == "not a directory" else "MISSING"
        out.append(Finding("crit", word, f"{s.path} is {s.problem or 'missing'}: the next start downloads every model"))
    elif s.problem:
        out.append(Finding("crit", "UNREADABLE", f"{s.path} cannot be read ({s.problem}): its models are not seen"))
    elif s.layout == "unknown":
        out.append(Finding("info", "EMPTY", "nothing in it tells its layout yet; what arrives is counted as downloads"))
    if counters is not None and counters.last_wipe and now - counters.last_wipe < WIPE_SHOWN:
        text = f"wiped {ago(now - counters.last_wipe)}: it lost most of its bytes at once"
        out.append(Finding("crit", "WIPED", text))
    return out


def _named(repos: list[str]) -> str:
    more = f" and {len(repos) - MAX_NAMED} more" if len(repos) > MAX_NAMED else ""
    return ", ".join(repos[:MAX_NAMED]) + more


def _repo_problems(s: RootState) -> list[Finding]:
    """Corruption and read errors, one finding per kind naming the repos."""
    corrupt: dict[str, list[str]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    for m in s.models:
        for kind, _n in m.corruption:
            corrupt[kind].append(m.repo_id)
        for kind in sorted({e.kind for e in m.errors}):
            errors[kind].append(m.repo_id)
    out = [Finding("warn", "PROBLEMS", f"{CORRUPTION.get(k, k)}: {_named(r)}") for k, r in sorted(corrupt.items())]
    for kind, n in s.extras.corruption:
        out.append(Finding("warn", "PROBLEMS", f"{CORRUPTION.get(kind, kind)}: {n} in the root"))
    out += [Finding("warn", "UNREADABLE PARTS", f"{ERRORS.get(k, k)}: {_named(r)}") for k, r in sorted(errors.items())]
    for e in s.extras.errors:
        out.append(Finding("warn", "UNREADABLE PARTS", f"{ERRORS.get(e.kind, e.kind)}: {e.short_path() or '.'}"))
    return out


def _downloads(s: RootState, counters: RootCounters | None, stall_after: float, now: float) -> list[Finding]:
    """Partial downloads: stalled (with whether a process still holds a download lock) or in progress."""
    if not s.incomplete:
        return []
    stalled = [f for f in s.incomplete if now - f.mtime > stall_after]
    locks = counters.locks if counters is not None else 0
    lock = f"; {count(locks, 'download lock')} held: a client is still waiting" if locks else ""
    out = []
    if stalled:
        oldest = max(now - f.mtime for f in stalled)
        text = f"{count(len(stalled), 'partial download')} not grown for {duration(oldest)}{lock}"
        out.append(Finding("warn", "STALLED", text))
    if len(stalled) < len(s.incomplete):
        n = len(s.incomplete) - len(stalled)
        text = f"{count(n, 'download')} in progress, {size(s.incomplete_bytes)} so far"
        out.append(Finding("info", "DOWNLOADING", text))
    return out


def _storage(st: Storage) -> list[Finding]:
    if st.error:
        return [Finding("warn", "FS ERROR", f"filesystem sample failed: {st.error}")]
    if st.verdict not in ("persistent", "unknown"):
        text = f"on {st.verdict} storage: this cache is lost when the container or host restarts"
        return [Finding("warn", "EPHEMERAL", text)]
    return []


def model_problems(m: Model, stall_after: float, now: float) -> tuple[Finding, ...]:
    """What is wrong with one model (empty: nothing)."""
    out = [Finding("warn", "PROBLEMS", f"{n} {CORRUPTION.get(k, k)}") for k, n in m.corruption]
    out += [Finding("warn", "UNREADABLE PARTS", f"{e.short_path()}: {ERRORS.get(e.kind, e.kind)}") for e in m.errors]
    stalled = sum(1 for f in m.incomplete if now - f.mtime > stall_after)
    if stalled:
        out.append(Finding("warn", "STALLED", f"{count(stalled, 'partial download')} stalled"))
    if len(m.incomplete) > stalled:
        out.append(Finding("info", "DOWNLOADING", f"{count(len(m.incomplete) - stalled, 'file')} downloading"))
    if not m.revisions and not m.incomplete and m.files == 0:
        out.append(Finding("warn", "PROBLEMS", "holds no complete file: nothing to load"))
    return tuple(out)
