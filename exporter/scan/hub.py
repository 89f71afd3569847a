"""Scan of the Hugging Face hub cache layout (`<cache>/models--org--name/{blobs,refs,snapshots}`).

Agrees with `huggingface_hub.scan_cache_dir` on every repo that it reports (size, file count,
revisions), and goes further where it gives up: a corrupt repo still gets a report, with its
corruption counted by kind. The cost is one `stat` per blob and one `readlink` per snapshot
entry; there is no per-file `resolve()`, and nothing is ever opened for writing.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable, Iterable

from .model import (
    IncompleteFile,
    Model,
    Revision,
    RootExtras,
    RootScan,
    ScanError,
    count_pairs,
    error_from_os,
)
from .store import scan_store

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
#: Root entries that are not repos and not worth a warning.
IGNORED_ROOT_ENTRIES = frozenset({".locks", "CACHEDIR.TAG", ".DS_Store", "Thumbs.db", "desktop.ini", "version.txt"})
_PREFIXES = tuple("../" * (depth + 2) + "blobs/" for depth in range(16))

# A blob as seen in <repo>/blobs: (size, allocated bytes, mtime, held by this repo's folder).
Blob = tuple[int, int, float, bool]


def parse_repo_dirname(name: str) -> tuple[str, str] | None:
    """`models--org--name` -> `("model", "org/name")`; None when it is not a repo folder name."""
    prefix, sep, rest = name.partition("--")
    if not sep or not rest or prefix not in REPO_TYPES:
        return None
    return REPO_TYPES[prefix], rest.replace("--", "/")


def _incomplete(rel: str, st: os.stat_result) -> IncompleteFile:
    return IncompleteFile(rel, st.st_size, st.st_blocks * 512, st.st_mtime)


def _scan_blobs(
    repo: str, key: str, store: str | None, errors: list[ScanError]
) -> tuple[dict[str, Blob], list[IncompleteFile], bool]:
    """List `<repo>/blobs`: complete blobs by name, partial downloads, and whether listing worked."""
    blobs: dict[str, Blob] = {}
    partial: list[IncompleteFile] = []
    bdir = os.path.join(repo, "blobs")
    try:
        with os.scandir(bdir) as it:
            for e in it:
                name = e.name
                try:
                    if e.is_symlink():
                        st = os.stat(e.path)
                        local = store is None or not _points_into(os.readlink(e.path), bdir, store)
                    else:
                        st = e.stat(follow_symlinks=False)
                        if not stat.S_ISREG(st.st_mode):
                            continue
                        local = True
                except OSError as exc:
                    err = error_from_os(exc, f"{key}/blobs/{name}")
                    if err.kind != "vanished":  # a dangling blob link: its snapshot links count as broken
                        errors.append(err)
                    continue
                if name.endswith(".incomplete"):
                    partial.append(_incomplete(f"{key}/blobs/{name}", st))
                elif not name.startswith("."):
                    blobs[name] = (st.st_size, st.st_blocks * 512, st.st_mtime, local)
    except FileNotFoundError:
        return blobs, partial, True
    except OSError as exc:
        errors.append(error_from_os(exc, f"{key}/blobs"))
        return blobs, partial, False
    return blobs, partial, True


def _points_into(target: str, bdir: str, store: str) -> bool:
    """Whether a blob symlink target lies inside the shared store `store`."""
    full = os.path.normpath(os.path.join(bdir, target))
    return full.startswith(store + os.sep)


def _walk_revision(
    rev_path: str,
    rel: str,
    on_link: Callable[[str, str, int], None],
    on_file: Callable[[str, str], None],
    errors: list[ScanError],
) -> None:
    """Visit every entry of one snapshot folder: symlinks go to `on_link`, plain files to `on_file`."""
    stack = [(rev_path, rel, 0)]
    while stack:
        path, rpath, depth = stack.pop()
        try:
            with os.scandir(path) as it:
                for e in it:
                    if e.is_symlink():
                        try:
                            on_link(e.path, os.readlink(e.path), depth)
                        except OSError as exc:
                            errors.append(error_from_os(exc, f"{rpath}/{e.name}"))
                    elif e.is_dir(follow_symlinks=False):
                        stack.append((e.path, f"{rpath}/{e.name}", depth + 1))
                    else:
                        on_file(e.path, f"{rpath}/{e.name}")
        except OSError as exc:
            errors.append(error_from_os(exc, rpath))


class _RepoScan:
    """Accumulates one repo's snapshots against its blob listing."""

    def __init__(self, repo: str, key: str, blobs: dict[str, Blob], listed: bool, errors: list[ScanError]) -> None:
        self.repo, self.key, self.blobs, self.listed, self.errors = repo, key, blobs, listed, errors
        self.bdir = os.path.join(repo, "blobs")
        self.boundary = os.path.dirname(repo) + os.sep
        self.corruption: Counter[str] = Counter()
        self.used: set[str] = set()
        self.rev_keys: set[str] = set()
        self.rev_files = 0

    def begin_revision(self) -> None:
        """Start counting a new snapshot folder."""
        self.rev_keys, self.rev_files = set(), 0

    def link(self, path: str, target: str, depth: int) -> None:
        """A snapshot symlink: find its blob by name (fast path) or by normalised target."""
        prefix = _PREFIXES[depth] if depth < len(_PREFIXES) else ""
        name = target[len(prefix) :] if prefix and target.startswith(prefix) else ""
        if not name or "/" in name:
            full = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if not full.startswith(self.boundary):
                self.corruption["external_link"] += 1  # never followed out of the cache root
                return
            name = os.path.basename(full) if os.path.dirname(full) == self.bdir else full
        if name in self.blobs:
            self._use(name)
        elif self.listed and not os.path.isabs(name):
            self.corruption["broken_link"] += 1
        else:
            self._external(name, name)

    def file(self, path: str, rel: str) -> None:
        """A regular file inside a snapshot (symlink-less caches): it is its own blob."""
        self._external(path, rel)

    def _external(self, path: str, rel: str) -> None:
        try:
            st = os.stat(path)
        except OSError as exc:
            err = error_from_os(exc, rel)
            if err.kind == "vanished":
                self.corruption["broken_link"] += 1
            else:
                self.errors.append(err)
            return
        if stat.S_ISREG(st.st_mode):
            self.blobs[path] = (st.st_size, st.st_blocks * 512, st.st_mtime, True)
            self._use(path)

    def _use(self, name: str) -> None:
        self.rev_keys.add(name)
        self.used.add(name)
        self.rev_files += 1


def _read_refs(repo: str, key: str, errors: list[ScanError]) -> dict[str, list[str]]:
    """`refs/**` -> {commit: [ref names]}."""
    refs: dict[str, list[str]] = {}
    top = os.path.join(repo, "refs")
    for dirpath, _dirs, files in os.walk(top, onerror=lambda e: _walk_error(e, top, key, errors)):
        for fname in files:
            path = os.path.join(dirpath, fname)
            name = os.path.relpath(path, top).replace(os.sep, "/")
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    commit = fh.read(256)
            except OSError as exc:
                errors.append(error_from_os(exc, f"{key}/refs/{name}"))
                continue
            refs.setdefault(commit, []).append(name)
    return refs


def _walk_error(exc: OSError, top: str, key: str, errors: list[ScanError]) -> None:
    if not (isinstance(exc, FileNotFoundError) and exc.filename == top):
        rel = os.path.relpath(str(exc.filename), os.path.dirname(top)) if exc.filename else key
        errors.append(error_from_os(exc, f"{key}/{rel}"))


def _count_files(top: str) -> int:
    total = 0
    for _dirpath, _dirs, files in os.walk(top):
        total += len(files)
    return total


def scan_repo(root: str, key: str, store: str | None = None, links: bool = True) -> Model:
    """Scan one repo folder `root/key`. `store` is the marked shared blob store path, if any.

    With `links=False` (the size pass) snapshot links are not read: every complete blob counts as
    referenced, which is exact for any repo that is not corrupt, and costs one `stat` per blob.
    """
    parsed = parse_repo_dirname(key)
    repo_type, repo_id = parsed if parsed else ("", key)
    repo = os.path.join(root, key)
    errors: list[ScanError] = []
    corruption: Counter[str] = Counter()
    if parsed is None:
        corruption["bad_repo_name"] += 1
    blobs, partial, listed = _scan_blobs(repo, key, store, errors)
    acc = _RepoScan(repo, key, blobs, listed, errors)
    refs = _read_refs(repo, key, errors)
    if links:
        revisions = _scan_snapshots(acc, refs, corruption)
    else:
        revisions = _list_snapshots(acc, refs, corruption)
        acc.used = set(blobs)
    corruption.update(acc.corruption)
    corruption["dangling_ref"] += sum(len(names) for names in refs.values())
    return _build_model(acc, key, repo_type, repo_id, revisions, partial, corruption, links)


def _snapshot_entries(acc: _RepoScan, corruption: Counter[str]) -> list[os.DirEntry[str]]:
    snaps = os.path.join(acc.repo, "snapshots")
    try:
        entries = sorted(os.scandir(snaps), key=lambda e: e.name)
    except FileNotFoundError:
        corruption["missing_snapshots"] += 1
        return []
    except OSError as exc:
        acc.errors.append(error_from_os(exc, f"{acc.key}/snapshots"))
        return []
    dirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
    corruption["snapshot_is_file"] += len(entries) - len(dirs)
    return dirs


def _list_snapshots(acc: _RepoScan, refs: dict[str, list[str]], corruption: Counter[str]) -> list[Revision]:
    """Revisions from folder names only (size pass): their file counts and sizes stay 0 until verified."""
    return [
        Revision(e.name, tuple(sorted(refs.pop(e.name, []))), 0, 0, 0.0) for e in _snapshot_entries(acc, corruption)
    ]


def _scan_snapshots(acc: _RepoScan, refs: dict[str, list[str]], corruption: Counter[str]) -> list[Revision]:
    """Revisions with every snapshot link read (link pass): exact files and sizes per revision."""
    revisions: list[Revision] = []
    for e in _snapshot_entries(acc, corruption):
        acc.begin_revision()
        _walk_revision(e.path, f"{acc.key}/snapshots/{e.name}", acc.link, acc.file, acc.errors)
        size = sum(acc.blobs[k][0] for k in acc.rev_keys)
        mtime = max((acc.blobs[k][2] for k in acc.rev_keys), default=0.0)
        revisions.append(Revision(e.name, tuple(sorted(refs.pop(e.name, []))), acc.rev_files, size, mtime))
    return revisions


def _build_model(
    acc: _RepoScan,
    key: str,
    repo_type: str,
    repo_id: str,
    revisions: list[Revision],
    partial: list[IncompleteFile],
    corruption: Counter[str],
    verified: bool,
) -> Model:
    used = acc.used
    blobs = acc.blobs
    unref = [b for name, b in blobs.items() if name not in used]
    listed = [b for name, b in blobs.items() if not os.path.isabs(name)]
    last = max((blobs[k][2] for k in used), default=0.0)
    if not used:
        try:
            last = os.stat(acc.repo).st_mtime
        except OSError:
            last = 0.0
    return Model(
        key=key,
        repo_id=repo_id,
        repo_type=repo_type,
        size_bytes=sum(blobs[k][0] for k in used),
        allocated_bytes=sum(blobs[k][1] for k in used),
        files=len(used),
        local_files=sum(1 for k in used if blobs[k][3]),
        local_bytes=sum(blobs[k][0] for k in used if blobs[k][3]),
        local_allocated_bytes=sum(blobs[k][1] for k in used if blobs[k][3]),
        revisions=tuple(revisions),
        incomplete=tuple(sorted(partial, key=lambda f: f.path)),
        unreferenced_files=len(unref),
        unreferenced_bytes=sum(b[0] for b in unref if b[3]),
        blob_files=len(listed),
        blob_bytes=sum(b[0] for b in listed),
        no_exist_entries=_count_files(os.path.join(acc.repo, ".no_exist")),
        corruption=count_pairs(corruption),
        last_modified=last,
        errors=tuple(acc.errors),
        verified=verified,
    )


def list_repos(root: str, corruption: Counter[str]) -> list[str]:
    """Repo folder names directly under a hub cache root; other entries are counted as `bad_repo_name`."""
    names: list[str] = []
    with os.scandir(root) as it:
        for e in it:
            if e.name in IGNORED_ROOT_ENTRIES or e.name == "blobs":
                continue
            if e.is_dir(follow_symlinks=False) and parse_repo_dirname(e.name) is not None:
                names.append(e.name)
            else:
                corruption["bad_repo_name"] += 1
    return sorted(names)


def scan_root(
    root: str, exclude: Iterable[str] = (), links: bool = True, mapper: Callable[..., Iterable[Model]] = map
) -> RootScan:
    """Scan a whole hub cache root. `mapper` lets the caller scan repos in parallel."""
    errors: list[ScanError] = []
    corruption: Counter[str] = Counter()
    skip = set(exclude)
    keys = [k for k in list_repos(root, corruption) if k not in skip]
    store = scan_store(root, errors)
    store_dir = store.path if store else None
    models = tuple(mapper(lambda k: scan_repo(root, k, store_dir, links), keys))
    return RootScan(
        models,
        RootExtras(
            store_files=store.files if store else 0,
            store_bytes=store.size_bytes if store else 0,
            store_allocated_bytes=store.allocated_bytes if store else 0,
            corruption=count_pairs(corruption),
            errors=tuple(errors),
        ),
    )
