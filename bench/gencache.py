"""Generate a synthetic Hugging Face hub cache in the real layout, with sparse blobs.

The layout is the one huggingface_hub writes: `models--org--name/{blobs,refs,snapshots}`, relative
snapshot symlinks (one more `../` per subfolder), `refs/main` without a newline, `.locks/<repo>/<etag>.lock`,
`blobs/<etag>.<random>.incomplete` partial downloads and, optionally, huggingface_hub 2.x's shared
Xet store (`blobs/<xx>/<hash>` with the repo blob as a symlink into it). Blobs are sparse, so a
1,000,000-file cache of 100 TB apparent size takes a few hundred MB of inodes.

    python bench/gencache.py OUT --repos 500 --files 2000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys


def _hex(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _touch(path: str, size: int) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        if size:
            os.ftruncate(fd, size)
    finally:
        os.close(fd)


def _store_blob(root: str, etag: str, size: int) -> str:
    """Put a payload into the shared store and return the relative link target from repo blobs/."""
    xhash = _hex("xet" + etag, 64)
    store = os.path.join(root, "blobs")
    os.makedirs(os.path.join(store, xhash[:2]), exist_ok=True)
    marker = os.path.join(store, ".huggingface-shared-blobs")
    if not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write("1\n")
    _touch(os.path.join(store, xhash[:2], xhash), size)
    return f"../../blobs/{xhash[:2]}/{xhash}"


def make_repo(root: str, index: int, files: int, blob_size: int, shared_every: int, subdir_every: int) -> None:
    """One repo with `files` blobs and one revision whose snapshot links every blob."""
    folder = f"models--org{index % 50}--model-{index}"
    repo = os.path.join(root, folder)
    commit = _hex(f"commit{index}", 40)
    for sub in ("blobs", "refs", f"snapshots/{commit}", f".no_exist/{commit}"):
        os.makedirs(os.path.join(repo, sub), exist_ok=True)
    os.makedirs(os.path.join(root, ".locks", folder), exist_ok=True)
    with open(os.path.join(repo, "refs", "main"), "w") as fh:
        fh.write(commit)
    _touch(os.path.join(repo, ".no_exist", commit, "adapter_config.json"), 0)
    snap = os.path.join(repo, "snapshots", commit)
    for i in range(files):
        etag = _hex(f"{index}/{i}", 64 if i % 2 else 40)
        blob = os.path.join(repo, "blobs", etag)
        if shared_every and i % shared_every == 0:
            os.symlink(_store_blob(root, etag, blob_size), blob)
        else:
            _touch(blob, blob_size)
        _touch(os.path.join(root, ".locks", folder, etag + ".lock"), 0)
        if subdir_every and i % subdir_every == 0:
            os.makedirs(os.path.join(snap, f"sub{i}"), exist_ok=True)
            os.symlink(f"../../../blobs/{etag}", os.path.join(snap, f"sub{i}", f"file{i}.bin"))
        else:
            os.symlink(f"../../blobs/{etag}", os.path.join(snap, f"file{i}.bin"))


def make_cache(
    root: str,
    repos: int,
    files: int,
    blob_size: int = 100_000_000,
    incomplete: int = 10,
    shared_every: int = 0,
    subdir_every: int = 0,
) -> None:
    """Build the whole cache under `root` (created if needed)."""
    os.makedirs(root, exist_ok=True)
    for r in range(repos):
        make_repo(root, r, files, blob_size, shared_every, subdir_every)
    for k in range(incomplete):
        folder = f"models--org{k % 50}--model-{k % repos}"
        _touch(
            os.path.join(root, folder, "blobs", f"{_hex(f'inc{k}', 64)}.{_hex(f'r{k}', 8)}.incomplete"), blob_size // 3
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--repos", type=int, default=100)
    p.add_argument("--files", type=int, default=100, help="files per repo")
    p.add_argument("--blob-size", type=int, default=100_000_000)
    p.add_argument("--incomplete", type=int, default=10)
    p.add_argument("--shared-every", type=int, default=0, help="every Nth blob goes to the shared Xet store")
    p.add_argument("--subdir-every", type=int, default=0, help="every Nth file sits in a snapshot subfolder")
    a = p.parse_args(argv)
    make_cache(a.out, a.repos, a.files, a.blob_size, a.incomplete, a.shared_every, a.subdir_every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
