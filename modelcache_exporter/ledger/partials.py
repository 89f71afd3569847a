"""Downloads in progress, as the filesystem shows them: partial files seen by the index.

A partial file's name carries what it will become (`partial_hint`), so when the artifact lands its
download duration is known (from the first time the partial was seen). A partial that has not
grown (mtime) for `stall_after` seconds is stalled. A huggingface_hub download holds
`.locks/<repo>/<etag>.lock` (local-dir: `.cache/huggingface/download/<file>.lock`); `/proc/locks`
tells which of those are held right now (by any process on this kernel, e.g. another web UI
instance sharing the volume).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.artifacts import partial_hint
from modelcache_exporter.scan.tree import RSYNC_TEMP

KEEP_FINISHED = 900.0  # seconds a vanished partial is remembered, to match its artifact


@dataclass
class Partial:
    """One partial file."""

    root: str
    model: str
    hint: str
    first_seen: float
    last_seen: float
    rsync: bool = False  # rsync's temporary `.<name>.XXXXXX`: a copy arriving, not a download


def model_of(path: str, state: RootState) -> str:
    """The model key a root-relative partial path belongs to."""
    if state.layout == "hf-local-dir":
        return "."
    keys = [m.key for m in state.models if path == m.key or path.startswith(m.key + "/")]
    return max(keys, key=len) if keys else path.split("/", 1)[0]


def parse_proc_locks(text: str) -> set[tuple[int, int, int]]:
    """`/proc/locks` -> {(major, minor, inode)} of every held lock (waiters, marked `->`, excluded)."""
    held = set()
    for line in text.splitlines():
        f = line.split()
        if len(f) < 8 or f[1] == "->":
            continue
        try:
            major, minor, inode = f[5].split(":")
            held.add((int(major, 16), int(minor, 16), int(inode)))
        except ValueError:
            continue
    return held


def read_proc_locks(procfs: str) -> set[tuple[int, int, int]]:
    """The held locks of this kernel (empty when /proc/locks cannot be read)."""
    try:
        with open(os.path.join(procfs, "locks"), encoding="ascii", errors="replace") as fh:
            return parse_proc_locks(fh.read())
    except OSError:
        return set()


class Partials:
    """Tracks partial files across ticks."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], Partial] = {}
        self.started: dict[str, int] = {}

    def update(self, states: tuple[RootState, ...], now: float) -> None:
        """Record new partial files, forget long-gone ones."""
        for state in states:
            for f in state.incomplete:
                key = (state.name, f.path)
                if key in self.seen:
                    self.seen[key].last_seen = now
                    continue
                name = os.path.basename(f.path)
                self.seen[key] = Partial(
                    state.name, model_of(f.path, state), partial_hint(f.path, state.layout), now, now,
                    bool(RSYNC_TEMP.match(name)),
                )  # fmt: skip
                self.started[state.name] = self.started.get(state.name, 0) + 1
        for key in [k for k, p in self.seen.items() if now - p.last_seen > KEEP_FINISHED]:
            del self.seen[key]

    def finished(self, root: str, model: str, hint: str, now: float) -> tuple[float | None, bool]:
        """(seconds since the first partial of this artifact was seen, None if none was; whether that partial was
        rsync's temporary file: the artifact was copied in, not downloaded)."""
        matches = [k for k, p in self.seen.items() if p.root == root and p.hint == hint and p.model in (model, ".")]
        if not matches:
            return None, False
        start = min(self.seen[k].first_seen for k in matches)
        rsync = any(self.seen[k].rsync for k in matches)
        for k in matches:
            del self.seen[k]
        return max(0.0, now - start), rsync


def stalled(state: RootState, stall_after: float, now: float) -> int:
    """Partial files of a root whose content has not changed for `stall_after` seconds."""
    return sum(1 for f in state.incomplete if now - f.mtime > stall_after)


def locks_held(state: RootState, held: set[tuple[int, int, int]]) -> int:
    """Lock files of this root's downloads that some process holds now."""
    paths = []
    if state.layout == "hf-hub":
        for f in state.incomplete:
            parts = f.path.split("/")
            if len(parts) == 3 and parts[1] == "blobs":
                paths.append(os.path.join(state.path, ".locks", parts[0], partial_hint(f.path, "hf-hub") + ".lock"))
    elif state.layout == "hf-local-dir":
        for dirpath, _dirs, files in os.walk(os.path.join(state.path, ".cache", "huggingface", "download")):
            paths.extend(os.path.join(dirpath, n) for n in files if n.endswith(".lock"))
    count = 0
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        if (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in held:
            count += 1
    return count
