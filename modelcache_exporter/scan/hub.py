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

from modelcache_exporter.base import quiet
from modelcache_exporter.scan.fingerprint import fingerprint
from modelcache_exporter.scan.hubsnap import Blob, RepoScan, count_files, list_snapshots, read_refs, scan_snapshots
from modelcache_exporter.scan.model import (
    IncompleteFile,
    Model,
    Revision,
    RootExtras,
    RootScan,
    ScanError,
    count_pairs,
    error_from_os,
)
from modelcache_exporter.scan.safeio import inside, safe_dir
from modelcache_exporter.scan.store import scan_store

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
#: Root entries that are not repos and not worth a warning.
IGNORED_ROOT_ENTRIES = frozenset({".locks", "CACHEDIR.TAG", ".DS_Store", "Thumbs.db", "desktop.ini", "version.txt"})


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def parse_repo_dirname(name: str) -> tuple[str, str] | None:
    """`models--org--name` -> `("model", "org/name")`; None when it is not a repo folder name."""
    prefix, sep, rest = name.partition("--")
    if not sep or not rest or prefix not in REPO_TYPES:
        return None
    return REPO_TYPES[prefix], rest.replace("--", "/")


def _incomplete(rel: str, st: os.stat_result) -> IncompleteFile:
    return IncompleteFile(rel, st.st_size, st.st_blocks * 512, st.st_mtime)


def _scan_blobs(
    repo: str, key: str, store: str | None, errors: list[ScanError], corruption: Counter[str]
) -> tuple[dict[str, Blob], list[IncompleteFile], bool]:
    """List `<repo>/blobs`: complete blobs by name, partial downloads, and whether listing worked. A blob that
    is a link out of the cache root (or a `blobs/` folder that is) is counted as `external_link`, not followed."""
    blobs: dict[str, Blob] = {}
    partial: list[IncompleteFile] = []
    bdir = os.path.join(repo, "blobs")
    root = os.path.dirname(repo)
    if not safe_dir(root, bdir):
        corruption["external_link"] += 1
        return blobs, partial, True
    try:
        fd = os.open(bdir, _DIR_FLAGS)  # entries by name in it: no path walk per blob
    except FileNotFoundError:
        return blobs, partial, True
    except OSError as exc:
        errors.append(error_from_os(exc, f"{key}/blobs"))
        return blobs, partial, False
    try:
        with os.scandir(fd) as it:
            for i, e in enumerate(it, 1):
                if not i % quiet.EVERY:
                    quiet.pause_within()
                name = e.name
                try:
                    if e.is_symlink():
                        target = os.readlink(name, dir_fd=fd)
                        local = store is None or not _points_into(target, bdir, store)
                        if local and not inside(root, os.path.join(bdir, target)):
                            corruption["external_link"] += 1
                            continue
                        st = os.stat(name, dir_fd=fd)
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
    except OSError as exc:
        errors.append(error_from_os(exc, f"{key}/blobs"))
        return blobs, partial, False
    finally:
        os.close(fd)
    return blobs, partial, True


def _points_into(target: str, bdir: str, store: str) -> bool:
    """Whether a blob symlink target lies inside the shared store `store`."""
    full = os.path.normpath(os.path.join(bdir, target))
    return full.startswith(store + os.sep)


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
    blobs, partial, listed = _scan_blobs(repo, key, store, errors, corruption)
    acc = RepoScan(repo, key, blobs, listed, errors)
    refs = read_refs(repo, key, errors)
    if links:
        revisions = scan_snapshots(acc, refs, corruption)
    else:
        revisions = list_snapshots(acc, refs, corruption)
        acc.used = set(blobs)
    corruption.update(acc.corruption)
    corruption["dangling_ref"] += sum(len(names) for names in refs.values())
    return _build_model(acc, key, (repo_type, repo_id), revisions, partial, corruption, links)


def _totals(blobs: dict[str, Blob], used: set[str]) -> dict[str, int]:
    """Counts and sizes: blobs in use, this repo's own files among them, blobs no snapshot uses, the listing
    (blobs named by an absolute path are files of a snapshot, not of `blobs/`)."""
    inuse = list(blobs.values()) if len(used) == len(blobs) else [blobs[k] for k in used]
    unref = [] if len(used) == len(blobs) else [b for name, b in blobs.items() if name not in used]
    listed = [b[0] for name, b in blobs.items() if name[:1] != "/"]
    mine = [b for b in inuse if b[3]]
    return {
        "size_bytes": sum([b[0] for b in inuse]),
        "allocated_bytes": sum([b[1] for b in inuse]),
        "files": len(used),
        "local_files": len(mine),
        "local_bytes": sum([b[0] for b in mine]),
        "local_allocated_bytes": sum([b[1] for b in mine]),
        "unreferenced_files": len(unref),
        "unreferenced_bytes": sum([b[0] for b in unref if b[3]]),
        "blob_files": len(listed),
        "blob_bytes": sum(listed),
    }


def _build_model(
    acc: RepoScan,
    key: str,
    parsed: tuple[str, str],
    revisions: list[Revision],
    partial: list[IncompleteFile],
    corruption: Counter[str],
    verified: bool,
) -> Model:
    last = max([acc.blobs[k][2] for k in acc.used], default=0.0)
    if not acc.used:
        try:
            last = os.stat(acc.repo).st_mtime
        except OSError:
            last = 0.0
    return Model(
        key=key,
        repo_type=parsed[0],
        repo_id=parsed[1],
        revisions=tuple(revisions),
        incomplete=tuple(sorted(partial, key=lambda f: f.path)),
        no_exist_entries=count_files(os.path.join(acc.repo, ".no_exist")),
        corruption=count_pairs(corruption),
        last_modified=last,
        errors=tuple(acc.errors),
        verified=verified,
        fingerprint=fingerprint((name, b[0], name) for name, b in acc.blobs.items()),
        **_totals(acc.blobs, acc.used),
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
    try:
        keys = [k for k in list_repos(root, corruption) if k not in skip]
    except OSError as exc:  # unreadable: reported (path ""), and nothing is said about the repos
        return RootScan((), RootExtras(errors=(error_from_os(exc, ""),)))
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
