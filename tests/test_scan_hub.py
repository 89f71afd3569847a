"""The hub-layout scan agrees with huggingface_hub.scan_cache_dir, on caches the real client wrote."""

from __future__ import annotations

import os
from pathlib import Path

import cachefixture
import pytest
from fakehub import FakeHub, run_download
from huggingface_hub import scan_cache_dir
from huggingface_hub.utils import _shared_blobs

from modelcache_exporter.scan import detect_layout, hub
from modelcache_exporter.scan.model import Model, RootScan

MODEL_FILES = {
    "config.json": b'{"hidden_size": 8}\n',
    "model.safetensors": bytes(range(256)) * 64,
    "semantic_codec/model.safetensors": b"\x11" * 5000,
    "tokenizer/vocab.txt": b"a\nb\nc\n",
}


def theirs(cache: Path) -> dict[str, tuple[int, int, set[tuple[str, int, int, tuple[str, ...]]]]]:
    info = scan_cache_dir(cache)
    return {
        r.repo_id: (
            r.size_on_disk,
            r.nb_files,
            {(v.commit_hash, v.size_on_disk, v.nb_files, tuple(sorted(v.refs))) for v in r.revisions},
        )
        for r in info.repos
    }


def ours(scan: RootScan) -> dict[str, tuple[int, int, set[tuple[str, int, int, tuple[str, ...]]]]]:
    return {
        m.repo_id: (m.size_bytes, m.files, {(v.commit, v.size_bytes, v.files, v.refs) for v in m.revisions})
        for m in scan.models
    }


def physical(scan: RootScan) -> int:
    return sum(m.local_bytes for m in scan.models) + scan.extras.store_bytes


@pytest.fixture
def real_cache(hub: FakeHub, tmp_path: Path) -> Path:
    """Three repos downloaded by the real client; one of them at two revisions; one dataset."""
    cache = tmp_path / "hub"
    hub.add_repo("org/model", MODEL_FILES)
    hub.add_repo("org/data", {"train.csv": b"x,y\n" * 400, "README.md": b"# d\n"}, repo_type="dataset")
    hub.add_repo("org/single", {"a.bin": b"\x01" * 3000, "b.bin": b"\x02" * 3000})
    run_download(hub, repo_id="org/model", cache_dir=str(cache))
    hub.publish("org/model", {"model.safetensors": bytes(range(255, -1, -1)) * 64, "extra.json": b"{}\n"})
    run_download(hub, repo_id="org/model", cache_dir=str(cache))
    run_download(hub, repo_id="org/data", cache_dir=str(cache), repo_type="dataset")
    run_download(hub, repo_id="org/single", cache_dir=str(cache), filename="a.bin")
    return cache


def test_scan_equals_scan_cache_dir_on_a_real_cache(real_cache: Path) -> None:
    scan = hub.scan_root(str(real_cache))
    assert ours(scan) == theirs(real_cache)
    assert physical(scan) == scan_cache_dir(real_cache).size_on_disk
    model = {m.repo_id: m for m in scan.models}["org/model"]
    assert len(model.revisions) == 2 and model.files == 6  # 4 files + changed weights + extra.json
    assert detect_layout(str(real_cache)) == "hf-hub"


def test_size_pass_gives_the_same_sizes_without_reading_links(real_cache: Path) -> None:
    sized = hub.scan_root(str(real_cache), links=False)
    exact = hub.scan_root(str(real_cache), links=True)
    assert [(m.repo_id, m.size_bytes, m.files) for m in sized.models] == [
        (m.repo_id, m.size_bytes, m.files) for m in exact.models
    ]
    assert all(not m.verified for m in sized.models) and all(m.verified for m in exact.models)
    assert [m.content_view() for m in sized.models] == [m.content_view() for m in exact.models]


def test_shared_xet_store_counts_each_payload_once(real_cache: Path) -> None:
    """Blobs moved into huggingface_hub 2.x's shared store by the library's own code."""
    repo = real_cache / "models--org--model"
    content = (repo / "snapshots").glob("*/semantic_codec/model.safetensors").__next__().read_bytes()
    etag = os.path.basename(os.readlink(next((repo / "snapshots").glob("*/semantic_codec/model.safetensors"))))
    xet_hash = "e" * 64
    assert _shared_blobs.publish_blob_to_shared_store(
        blob_path=str(repo / "blobs" / etag), xet_hash=xet_hash, cache_dir=real_cache, expected_size=len(content)
    )
    twin = real_cache / "models--org--twin"
    (twin / "blobs").mkdir(parents=True)
    (twin / "refs").mkdir()
    (twin / "refs" / "main").write_text("f" * 40)
    (twin / "snapshots" / ("f" * 40)).mkdir(parents=True)
    os.symlink(f"../../blobs/{etag}", twin / "snapshots" / ("f" * 40) / "codec.safetensors")
    assert _shared_blobs.try_link_from_shared_store(
        blob_path=str(twin / "blobs" / etag), xet_hash=xet_hash, cache_dir=real_cache, expected_size=len(content)
    )
    scan = hub.scan_root(str(real_cache))
    assert ours(scan) == theirs(real_cache)
    assert physical(scan) == scan_cache_dir(real_cache).size_on_disk
    assert scan.extras.store_files == 1 and scan.extras.store_bytes == len(content)
    by_id = {m.repo_id: m for m in scan.models}
    assert by_id["org/twin"].size_bytes == len(content) and by_id["org/twin"].local_bytes == 0


def test_fixture_cache_corruption_is_counted_not_raised(tmp_path: Path) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    scan = hub.scan_root(str(cache))
    reported = theirs(cache)
    for repo_id, expected in reported.items():
        assert ours(scan)[repo_id] == expected, repo_id
    by_id: dict[str, Model] = {m.repo_id: m for m in scan.models}
    assert "org/broken" not in reported  # scan_cache_dir gives up on the repo ...
    broken = by_id["org/broken"]  # ... we report it, with its corruption counted
    assert dict(broken.corruption) == {"broken_link": 1, "dangling_ref": 1}
    assert broken.files == 1
    assert dict(scan.extras.corruption) == {"bad_repo_name": 1}
    assert by_id["org/data"].unreferenced_files == 1 and by_id["org/data"].unreferenced_bytes == 12
    assert [f.size_bytes for f in by_id["org/alpha"].incomplete] == [1000]
    assert by_id["org/alpha"].no_exist_entries == 1


def test_vanished_and_unreadable_parts_become_errors(tmp_path: Path) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    loop = cache / "models--org--alpha" / "blobs" / ("c" * 40)
    os.symlink(loop.name, loop)  # a blob that is a symlink to itself
    model = hub.scan_repo(str(cache), "models--org--alpha")
    assert [e.kind for e in model.errors] == ["symlink_loop"]
    assert model.size_bytes == 12301  # the rest of the repo is still counted
    gone = hub.scan_repo(str(cache), "models--org--nothing")
    assert dict(gone.corruption) == {"missing_snapshots": 1} and gone.files == 0
