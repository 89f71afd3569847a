"""What can be verified offline, per model: the files whose identity is a hash of their content.

- hf-hub: each complete blob `blobs/<name>` is named by its hash: 64 hex digits, the sha256 of an LFS file;
  40, the git blob sha1 (`sha1(b"blob <size>\\0" + content)`) of any other file. A blob that is a link into the
  shared Xet store is read through the link (its name is still the file's hash). The store's own files are
  named by Xet's chunked Merkle hash, not a hash of the bytes: they are not verified on their own.
- hf-local-dir: each file with a `.cache/huggingface/download/<path>.metadata` is checked against its etag (a
  sha256 or a git sha1 by its length; any other etag is unverifiable).
- plain, modelscope: no hash names the files: each file is counted unverifiable.

A model with a partial download (`*.incomplete`) is `busy`: a download into it is in progress.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from modelcache_exporter import layouts
from modelcache_exporter.layouts import LOCAL_KEY
from modelcache_exporter.scan.localdir import META_DIR, read_metadata

_HEX = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def algo_of(name: str) -> str:
    """`sha256` for 64 hex digits, `git-sha1` for 40, `""` for a name that is no such hash."""
    if not _HEX.fullmatch(name):
        return ""
    return "sha256" if len(name) == 64 else "git-sha1"


@dataclass(frozen=True)
class Target:
    """One file to verify: its path, the name shown (blob name or path in the model), how and against what."""

    path: str
    name: str
    algo: str
    expected: str


@dataclass(frozen=True)
class ModelTargets:
    """A model's verifiable files, how many other files it has, and whether a download into it is under way."""

    key: str
    targets: tuple[Target, ...] = ()
    unverifiable: int = 0
    busy: bool = False


def hub_targets(root: str, key: str) -> ModelTargets:
    """The blobs of hub repo `key` (OSError when its blobs cannot be listed)."""
    bdir = os.path.join(root, key, "blobs")
    found, busy, other = [], False, 0
    try:
        entries = sorted(os.scandir(bdir), key=lambda e: e.name)
    except FileNotFoundError:
        return ModelTargets(key)
    for e in entries:
        if e.name.endswith(".incomplete"):
            busy = True
        elif e.name.startswith("."):
            continue
        elif algo_of(e.name) and (e.is_symlink() or e.is_file(follow_symlinks=False)):
            found.append(Target(e.path, e.name, algo_of(e.name), e.name))
        else:
            other += 1
    return ModelTargets(key, tuple(found), other, busy)


def local_targets(root: str) -> ModelTargets:
    """The files of a local-dir download that have a metadata file."""
    meta = read_metadata(root, [])
    found, other, busy = [], 0, False
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirs[:] = [d for d in dirs if d != ".cache"]
        for fname in sorted(files):
            rel = fname if rel_dir == "." else f"{rel_dir}/{fname}".replace(os.sep, "/")
            etag = meta.get(rel, ("", ""))[1]
            if algo_of(etag):
                found.append(Target(os.path.join(dirpath, fname), rel, algo_of(etag), etag))
            else:
                other += 1
    download = os.path.join(root, META_DIR)
    if os.path.isdir(download):
        busy |= any(f.endswith(".incomplete") for _d, _s, fs in os.walk(download) for f in fs)
    return ModelTargets(LOCAL_KEY, tuple(found), other, busy)


def plain_targets(root: str, key: str) -> ModelTargets:
    """Every file of a plain (or ModelScope) model, counted unverifiable."""
    top = os.path.join(root, key)
    if not os.path.isdir(top):
        return ModelTargets(key, (), 1 if os.path.isfile(top) else 0)
    return ModelTargets(key, (), sum(len(files) for _d, _s, files in os.walk(top)))


def model_targets(root: str, layout: str, key: str) -> ModelTargets:
    """What model `key` of the root at `root` (in `layout`) holds to verify."""
    if layout == "hf-hub":
        return hub_targets(root, key)
    if layout == "hf-local-dir":
        return local_targets(root)
    return plain_targets(root, key)


def model_keys(root: str, layout: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """The models of the root (none when its layout is not known)."""
    try:
        return layouts.get(layout).list_keys(root, exclude)
    except (ValueError, OSError):
        return []
