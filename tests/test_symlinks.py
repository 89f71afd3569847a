"""Symlinks out of a cache root are never followed, in any layout: not for sizes, not for bookkeeping files
(refs, .metadata), not for folders (snapshots/, blobs/, refs/, a revision, .cache/). A 50,000-byte file outside
the roots is the bait: if any link were followed, a size on /metrics would show it."""

from __future__ import annotations

import os
from pathlib import Path

import cachefixture
from helpers import InProcess, value

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
BAIT = 50_000
REV = "4" * 40
ETAG = "e" * 40


def _bait(outside: Path) -> Path:
    (outside / "rev" / "sub").mkdir(parents=True)
    (outside / "rev" / "weights.bin").write_bytes(b"\x09" * BAIT)
    (outside / ETAG).write_bytes(b"\x09" * BAIT)
    (outside / "main").write_text(REV)
    (outside / "huggingface" / "download").mkdir(parents=True)
    (outside / "huggingface" / "download" / "gpt.pth.metadata").write_text(f"{REV}\netag\n1700000000.0\n")
    (outside / "huggingface" / "download" / "x.incomplete").write_bytes(b"\x09" * BAIT)
    return outside


def _repo(cache: Path, name: str, blob: bool = True, snapshot: bool = True) -> Path:
    repo = cache / f"models--evil--{name}"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    if blob:
        (repo / "blobs" / ETAG).write_bytes(b"\x01" * 100)
    if snapshot:
        (repo / "snapshots" / REV).mkdir(parents=True)
        os.symlink(f"../../blobs/{ETAG}", repo / "snapshots" / REV / "model.bin")
    return repo


def test_links_out_of_a_hub_cache_are_not_followed(tmp_path: Path) -> None:
    outside = _bait(tmp_path / "outside")
    cache = cachefixture.build(tmp_path / "hub")
    os.symlink("/etc", _repo(cache, "revdir") / "snapshots" / ("5" * 40))  # a revision that is /etc
    snaps = _repo(cache, "snaps", snapshot=False)
    os.symlink(outside, snaps / "snapshots")  # snapshots/ itself leaves the cache
    blobs = _repo(cache, "blobs", blob=False)
    os.rmdir(blobs / "blobs")
    os.symlink(outside, blobs / "blobs")  # blobs/ leaves the cache
    bloblink = _repo(cache, "bloblink", blob=False)
    os.symlink(outside / ETAG, bloblink / "blobs" / ETAG)  # one blob leaves the cache
    refs = _repo(cache, "refs")
    os.rmdir(refs / "refs")
    os.symlink(outside, refs / "refs")  # refs/ leaves the cache: not read
    etc = _repo(cache, "etc")
    os.symlink("/etc/hostname", etc / "refs" / "main")  # a ref that is a file out of the cache
    args = ["--path.cache", str(cache), "--path.state", str(tmp_path / "s"), "--collector.cache.scan-workers", "0"]
    with InProcess([*args, *QUIET]) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        text = ex.text()

    def model(name: str, metric: str = "modelcache_model_size_bytes") -> float | None:
        return value(text, metric, root="hub", repo=f"evil/{name}", repo_type="model")

    assert model("revdir") == 100 and model("revdir", "modelcache_model_revisions") == 1
    assert model("snaps") == 0 and model("snaps", "modelcache_model_revisions") == 0
    assert model("blobs") == 0 and model("bloblink") == 0
    assert model("refs") == 100 and model("etc") == 100
    assert 'refs=""' in next(
        line for line in text.splitlines() if 'repo="evil/refs"' in line and "revision_info" in line
    )
    assert value(text, "modelcache_model_size_bytes", root="hub", repo="org/alpha", repo_type="model") == 12301
    corrupt = {k: value(text, "modelcache_model_corruptions", root="hub", repo=f"evil/{k}", repo_type="model")
               for k in ("revdir", "snaps", "blobs", "bloblink", "refs", "etc")}  # fmt: skip
    assert corrupt == {"revdir": 1, "snaps": 1, "blobs": 2, "bloblink": 2, "refs": 0, "etc": 0}
    fixture = cachefixture.build(tmp_path / "plain-fixture")
    from modelcache_exporter.layouts import scan_root

    plain_size = sum(m.local_bytes for m in scan_root(str(fixture), "hf-hub", "hub").models) + 20000  # + Xet store
    assert value(text, "modelcache_root_size_bytes", root="hub") == plain_size + 3 * 100  # revdir, refs, etc
    sizes = [v for (n, _labels), v in _samples(text).items() if n.startswith("modelcache_model_") and "bytes" in n]
    assert sizes and all(v < BAIT for v in sizes)


def test_links_out_of_a_local_dir_and_a_plain_tree_are_not_followed(tmp_path: Path) -> None:
    outside = _bait(tmp_path / "outside")
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    (ckpt / "gpt.pth").write_bytes(b"\x01" * 300)
    os.symlink(outside / ETAG, ckpt / "bigvgan.pth")  # a weights file that is a link out
    os.symlink(outside, ckpt / ".cache")  # the download bookkeeping leaves the dir: not read
    plain = tmp_path / "hf_cache"
    (plain / "bigvgan").mkdir(parents=True)
    (plain / "bigvgan" / "config.json").write_bytes(b"\x02" * 500)
    os.symlink(outside, plain / "bigvgan" / "extra")  # a folder out of the tree, inside a model
    os.symlink("/etc", plain / "etc")  # a top-level entry that is /etc
    conf = tmp_path / "roots.yml"
    conf.write_text(
        f"roots:\n  - {{path: {ckpt}, name: checkpoints, layout: hf-local-dir, model: IndexTeam/IndexTTS-2}}\n"
        f"  - {{path: {plain}, name: hf_cache, layout: plain}}\n"
    )
    with InProcess(["--config.file", str(conf), "--path.state", str(tmp_path / "s"), *QUIET]) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="checkpoints")
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hf_cache")
        text = ex.text()
    local = {"root": "checkpoints", "repo": "IndexTeam/IndexTTS-2", "repo_type": "model"}
    assert value(text, "modelcache_model_size_bytes", **local) == 300
    assert value(text, "modelcache_model_files", **local) == 1
    assert value(text, "modelcache_model_revisions", **local) == 0  # the outside .metadata was not read
    assert value(text, "modelcache_model_incomplete_files", **local) == 0  # nor its partial downloads
    assert value(text, "modelcache_root_size_bytes", root="hf_cache") == 500
    assert value(text, "modelcache_model_size_bytes", root="hf_cache", repo="etc", repo_type="model") == 0
    assert value(text, "modelcache_model_files", root="hf_cache", repo="etc", repo_type="model") == 0
    big = {
        n: v
        for (n, _l), v in _samples(text).items()
        if n.startswith("modelcache_") and n.endswith("_bytes") and v >= BAIT
    }
    assert not big, big


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    from helpers import samples

    return samples(text)
