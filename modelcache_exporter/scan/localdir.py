"""Scan of a `--local-dir` download, such as IndexTTS2's `checkpoints/`.

huggingface_hub keeps its bookkeeping in `<dir>/.cache/huggingface/download/`: one
`<file>.metadata` per downloaded file (commit hash, etag, timestamp, one per line) and
`<hash>.<etag>.incomplete` while a file is being fetched. The whole folder is one model.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable

from modelcache_exporter.scan.fingerprint import fingerprint
from modelcache_exporter.scan.model import Model, Revision, RootExtras, RootScan, ScanError, error_from_os
from modelcache_exporter.scan.safeio import inside, read_head
from modelcache_exporter.scan.tree import TreeStats, walk_tree

META_DIR = os.path.join(".cache", "huggingface", "download")


def parse_metadata(text: str) -> tuple[str, str] | None:
    """`commit\\netag\\ntimestamp\\n` -> (commit, etag); None when malformed."""
    lines = text.split("\n")
    if len(lines) < 3:
        return None
    commit, etag, stamp = (line.strip() for line in lines[:3])
    try:
        float(stamp)
    except ValueError:
        return None
    return (commit, etag) if commit and etag else None


def read_metadata(root: str, errors: list[ScanError]) -> dict[str, tuple[str, str]]:
    """{file path relative to the local dir: (commit, etag)} for every readable `.metadata` file."""
    top = os.path.join(root, META_DIR)
    found: dict[str, tuple[str, str]] = {}
    if not os.path.isdir(top) or not inside(root, top):  # the bookkeeping is never read out of the root
        return found
    for dirpath, _dirs, files in os.walk(top):
        for fname in files:
            if not fname.endswith(".metadata"):
                continue
            path = os.path.join(dirpath, fname)
            rel = os.path.relpath(path, top)[: -len(".metadata")].replace(os.sep, "/")
            try:
                data = read_head(path, 4096, root)  # a FIFO planted here must not block the scan
            except OSError as exc:
                errors.append(error_from_os(exc, f"{META_DIR}/{rel}.metadata"))
                continue
            parsed = parse_metadata(data.decode("utf-8", "replace")) if data is not None else None
            if parsed:
                found[rel] = parsed
    return found


def scan_local_dir(root: str, name: str, exclude: Iterable[str] = ()) -> RootScan:
    """One model named `name`; revisions are the commits named by the metadata files."""
    skipped = {".cache", *exclude}
    tree = walk_tree(root, "", skip=lambda rel: rel in skipped, keep_sizes=True)
    meta_top = os.path.join(root, META_DIR)
    meta_tree = (
        walk_tree(meta_top, META_DIR, is_temp=lambda n: n.endswith(".incomplete"))
        if not os.path.lexists(meta_top) or inside(root, meta_top)  # never walked through a link out of the dir
        else TreeStats()
    )
    errors = [*tree.errors, *(e for e in meta_tree.errors if e.kind != "vanished")]
    meta = read_metadata(root, errors)
    by_commit: dict[str, list[int]] = defaultdict(list)
    for rel, (commit, _etag) in meta.items():
        if rel in tree.sizes:
            by_commit[commit].append(tree.sizes[rel])
    revisions = tuple(Revision(c, (), len(s), sum(s), 0.0) for c, s in sorted(by_commit.items()))
    untracked = {rel: n for rel, n in tree.sizes.items() if rel not in meta}  # no metadata: not from the Hub client
    model = Model(
        key=".",
        repo_id=name,
        repo_type="model",
        size_bytes=tree.size_bytes,
        allocated_bytes=tree.allocated_bytes,
        files=tree.files,
        local_files=tree.files,
        local_bytes=tree.size_bytes,
        local_allocated_bytes=tree.allocated_bytes,
        revisions=revisions,
        incomplete=tuple(sorted(tree.incomplete + meta_tree.incomplete, key=lambda f: f.path)),
        unreferenced_files=len(untracked),
        unreferenced_bytes=sum(untracked.values()),
        last_modified=tree.last_modified,
        errors=tuple(errors),
        fingerprint=fingerprint((r, n, meta[r][1] if r in meta and meta[r][1] else str(t)) for r, n, t in tree.idents),
    )
    return RootScan((model,), RootExtras())
