"""What is wrong in a root, one line per repo and kind, each naming the repo (or folder) it concerns.

Three kinds a person acts on differently: what `check` cannot see (permission: fix access, do not download
again), what is damaged or missing (the next start downloads it again), and what is being downloaded
(`partials.py`). Untracked files of a `--local-dir` root (no download metadata) are named too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from modelcache_exporter.check.words import count, short, size
from modelcache_exporter.scan.hub import IGNORED_ROOT_ENTRIES, parse_repo_dirname
from modelcache_exporter.scan.hubsnap import read_refs
from modelcache_exporter.scan.localdir import META_DIR, read_metadata
from modelcache_exporter.scan.model import Model, RootExtras, ScanError
from modelcache_exporter.scan.tree import walk_tree

SHOWN = 3  # paths named per problem line; the rest are counted

#: corruption kind -> (what one is called, said of it, what it means for the model)
CORRUPTION = {
    "missing_snapshots": ("folder", " without snapshots/", "nothing in it can be loaded"),
    "snapshot_is_file": ("file", " where a revision folder should be", "that revision cannot be loaded"),
    "external_link": ("link", " out of the cache root", "not followed, not counted"),
    "bad_repo_name": ("folder", " that is not a repo", "huggingface_hub ignores it (repos are models--org--name)"),
}


def listing(paths: list[str]) -> str:
    """'a, b, c and 2 more'."""
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def unreadable(who: str, errors: Iterable[ScanError]) -> list[str]:
    """Paths the scan could not read: what `check` cannot see (the race `vanished` is not a problem)."""
    by_kind: dict[str, list[str]] = {}
    for e in errors:
        if e.kind != "vanished":
            by_kind.setdefault(e.kind, []).append(e.short_path() or ".")
    out = []
    for kind, paths in sorted(by_kind.items()):
        if kind == "permission":
            out.append(
                f"{who}: CANNOT SEE {count(len(paths), 'path')} (permission denied: {listing(paths)}): "
                "fix the permissions; this is not a missing download"
            )
        else:
            out.append(f"{who}: cannot read {count(len(paths), 'path')} ({kind.replace('_', ' ')}: {listing(paths)})")
    return out


def dangling_refs(root: str, m: Model) -> list[str]:
    """'refs/stale -> 33333333' for every ref naming a commit without a snapshot."""
    commits = {r.commit for r in m.revisions}
    refs = read_refs(os.path.join(root, m.key), m.key, [])
    return sorted(f"refs/{n} -> {short(c)}" for c, names in refs.items() if c not in commits for n in names)


def broken_links(repo_dir: str) -> list[str]:
    """'model.bin in 11111111' for every snapshot link of a hub repo whose target is gone."""
    top = os.path.join(repo_dir, "snapshots")
    out = []
    for dirpath, _dirs, files in os.walk(top):
        for n in files:
            path = os.path.join(dirpath, n)
            if os.path.islink(path) and not os.path.exists(path):
                rev, _, rel = os.path.relpath(path, top).partition(os.sep)
                out.append(f"{rel} in {short(rev)}")
    return sorted(out)


def model_problems(root: str, m: Model) -> list[str]:
    """Damage and unreadable parts of one model, each line naming it."""
    who = m.repo_id or m.key
    out = unreadable(who, m.errors)
    for kind, n in m.corruption:
        if kind == "dangling_ref":
            refs = dangling_refs(root, m)
            out.append(
                f"{who}: {count(n, 'dangling ref')} ({listing(refs) or '?'}): "
                "it names a commit that has no snapshot; loading that ref downloads it again"
            )
        elif kind == "broken_link":
            names = broken_links(os.path.join(root, m.key))
            out.append(
                f"{who}: {count(n, 'broken link')} ({listing(names) or '?'}): its blob is gone, "
                "so that file is missing; the next load downloads it again"
            )
        elif kind in CORRUPTION:
            noun, said, means = CORRUPTION[kind]
            out.append(f"{who}: {count(n, noun)}{said}: {means}")
        else:
            out.append(f"{who}: {n} {kind.replace('_', ' ')}")
    return out


def bad_names(root: str) -> list[str]:
    """Entries of a hub cache root that are not repo folders (what the scan counts as `bad_repo_name`)."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []
    return [
        e.name
        for e in entries
        if e.name not in IGNORED_ROOT_ENTRIES
        and e.name != "blobs"
        and not (e.is_dir(follow_symlinks=False) and parse_repo_dirname(e.name) is not None)
    ]


def root_problems(root: str, layout: str, extras: RootExtras) -> list[str]:
    """Problems that belong to no model (names the folders concerned)."""
    out = unreadable("(root)", extras.errors)
    for kind, n in extras.corruption:
        noun, said, means = CORRUPTION.get(kind, (kind.replace("_", " "), "", ""))
        names = bad_names(root) if kind == "bad_repo_name" and layout == "hf-hub" else []
        named = f": {listing(names)}" if names else ""
        out.append(f"{count(n, noun)}{said}{named}" + (f": {means}" if means else ""))
    return out


def untracked(root: str, repo: str) -> list[str]:
    """A `--local-dir` root's files without download metadata (not fetched by huggingface_hub, or its `.cache/`
    was lost): named, with their size."""
    tree = walk_tree(root, "", skip=lambda rel: rel == ".cache", keep_sizes=True)
    meta = read_metadata(root, [])
    files = sorted((rel, n) for rel, n in tree.sizes.items() if rel not in meta and not rel.startswith(META_DIR))
    if not files:
        return []
    total = sum(n for _, n in files)
    names = listing([f"{rel} ({size(n)})" for rel, n in files])
    return [
        f"{repo}: {count(len(files), 'file')} without download metadata, {size(total)}: {names}: "
        "not fetched by huggingface_hub here (copied in, or .cache/huggingface was lost)"
    ]
