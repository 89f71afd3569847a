"""A small, fully deterministic hub cache in the real layout (names, contents, link targets, mtimes).

It holds what a real cache holds and a few things real caches suffer from: two revisions sharing
blobs, refs to both, a snapshot subfolder, huggingface_hub 2.x's shared Xet store with two repos
pointing at one payload, a partial download, an unreferenced blob, a broken snapshot link, a
dangling ref, and a folder that is not a repo.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

MTIME_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
REV1 = "1111111111111111111111111111111111111111"
REV2 = "2222222222222222222222222222222222222222"
REV3 = "3333333333333333333333333333333333333333"


def _etag(content: bytes, lfs: bool) -> str:
    if lfs:
        return hashlib.sha256(content).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _snapshot(repo: Path, commit: str, files: dict[str, bytes], lfs_from: int = 64) -> None:
    """Blobs plus relative snapshot links (one more ../ per subfolder)."""
    for name, content in files.items():
        etag = _etag(content, len(content) >= lfs_from)
        blob = repo / "blobs" / etag
        if not blob.exists() and not blob.is_symlink():
            _write(blob, content)
        link = repo / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        depth = name.count("/")
        os.symlink("../" * (depth + 2) + f"blobs/{etag}", link)


def _ref(repo: Path, name: str, commit: str) -> None:
    _write(repo / "refs" / name, commit.encode())


def _share(cache: Path, repo: Path, content: bytes) -> None:
    """Move a repo blob into the shared store and leave a relative symlink, as publish_blob_to_shared_store does."""
    etag = _etag(content, True)
    xet = hashlib.sha256(b"xet" + content).hexdigest()
    store = cache / "blobs"
    _write(store / ".huggingface-shared-blobs", b"1\n")
    payload = store / xet[:2] / xet
    if not payload.exists():
        _write(payload, content)
        _write(payload.with_name(xet + ".refs"), f"{repo.name}/blobs/{etag}\n".encode())
    blob = repo / "blobs" / etag
    if blob.exists() or blob.is_symlink():
        blob.unlink()
    os.symlink(f"../../blobs/{xet[:2]}/{xet}", blob)


def build(cache: Path) -> Path:
    """Create the fixture cache under `cache` and return it."""
    alpha = cache / "models--org--alpha"
    shared = {"config.json": b'{"a": 1}\n', "tokenizer/vocab.txt": b"a\nb\n"}
    _snapshot(alpha, REV1, {**shared, "model.safetensors": b"\x01" * 4096})
    _snapshot(alpha, REV2, {**shared, "model.safetensors": b"\x02" * 8192})
    _ref(alpha, "main", REV2)
    _ref(alpha, "refs/pr/1", REV1)
    _write(alpha / "blobs" / (("a" * 64) + ".0123abcd.incomplete"), b"\x03" * 1000)
    _write(alpha / ".no_exist" / REV2 / "adapter_config.json", b"")

    data = cache / "datasets--org--data"
    _snapshot(data, REV1, {"train.csv": b"x,y\n" * 100, "README.md": b"# data\n"})
    _ref(data, "main", REV1)
    _write(data / "blobs" / ("b" * 40), b"orphan blob\n")

    xet_payload = b"\x07" * 20000
    for name in ("xet", "xet-twin"):
        repo = cache / f"models--org--{name}"
        _snapshot(repo, REV3, {"weights.bin": xet_payload, "config.json": f'{{"{name}": 1}}\n'.encode()})
        _ref(repo, "main", REV3)
        _share(cache, repo, xet_payload)

    broken = cache / "models--org--broken"
    _snapshot(broken, REV1, {"config.json": b'{"b": 1}\n', "model.bin": b"\x05" * 3000})
    (broken / "blobs" / _etag(b"\x05" * 3000, True)).unlink()
    _ref(broken, "main", REV1)
    _ref(broken, "stale", REV3)

    (cache / "not-a-repo").mkdir(parents=True)
    _write(cache / ".locks" / "models--org--alpha" / (("a" * 64) + ".lock"), b"")
    _write(cache / "CACHEDIR.TAG", b"Signature: 8a477f597d28d172789f06886806bc55\n")
    freeze(cache)
    return cache


def freeze(top: Path) -> None:
    """Give every entry the same mtime (links themselves, not their targets), deepest first."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in [*filenames, *dirnames]:
            os.utime(os.path.join(dirpath, name), ns=(MTIME_NS, MTIME_NS), follow_symlinks=False)
    os.utime(top, ns=(MTIME_NS, MTIME_NS))
