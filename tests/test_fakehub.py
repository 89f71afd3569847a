"""Tests for `fakehub.FakeHub` with the real ``huggingface_hub`` client (no network but 127.0.0.1)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from fakehub import FakeHub, blob_names, git_blob_sha1, hermetic_client, run_download, start_download
from huggingface_hub import HfApi, hf_hub_download, scan_cache_dir, snapshot_download
from huggingface_hub.errors import RemoteEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile, RepoFolder

REPO = "org/tiny-model"
REPO_DIR = "models--org--tiny-model"
FILES: dict[str, bytes] = {
    "config.json": b'{"hidden_size": 8}\n',
    "README.md": b"# tiny\n",
    "model.safetensors": bytes(range(256)) * 16,  # 4 KiB, LFS by extension and size
    "tokenizer/vocab.txt": b"a\nb\nc\n",
}
HEX40 = re.compile(r"[0-9a-f]{40}")
HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as fake:
        yield fake


def _snapshot_files(snapshot: Path) -> dict[str, bytes]:
    return {
        p.relative_to(snapshot).as_posix(): p.read_bytes()
        for p in sorted(snapshot.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(snapshot).parts
    }


def _resolve_gets(hub: FakeHub) -> list[str]:
    return [path for method, path in hub.requests if method == "GET" and "/resolve/" in path]


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


# ------------------------------------------------------------------ raw HTTP contract


def test_resolve_headers_match_hub_contract(hub: FakeHub) -> None:
    sha = hub.add_repo(REPO, FILES)
    session = requests.Session()
    session.trust_env = False  # never go through a proxy
    base = f"{hub.endpoint}/{REPO}/resolve/main"

    regular = session.head(f"{base}/config.json", headers={"Accept-Encoding": "identity"})
    assert regular.status_code == 200
    assert regular.headers["ETag"] == f'"{git_blob_sha1(FILES["config.json"])}"'
    assert regular.headers["X-Repo-Commit"] == sha
    assert regular.headers["Content-Length"] == str(len(FILES["config.json"]))
    assert "X-Linked-Etag" not in regular.headers

    lfs = session.head(f"{base}/model.safetensors")
    sha256 = hashlib.sha256(FILES["model.safetensors"]).hexdigest()
    assert lfs.headers["ETag"] == f'"{sha256}"'
    assert lfs.headers["X-Linked-Etag"] == f'"{sha256}"'
    assert lfs.headers["X-Linked-Size"] == str(len(FILES["model.safetensors"]))
    assert not [h for h in lfs.headers if h.lower().startswith("x-xet")]

    part = session.get(f"{base}/model.safetensors", headers={"Range": "bytes=100-"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-4095/{len(FILES['model.safetensors'])}"
    assert part.content == FILES["model.safetensors"][100:]
    assert hub.downloads["model.safetensors"] == 1

    missing = session.head(f"{base}/nope.bin")
    assert (missing.status_code, missing.headers["X-Error-Code"]) == (404, "EntryNotFound")
    assert missing.headers["X-Repo-Commit"] == sha
    no_repo = session.get(f"{hub.endpoint}/org/ghost/resolve/main/config.json")
    assert (no_repo.status_code, no_repo.headers["X-Error-Code"]) == (404, "RepoNotFound")
    no_rev = session.get(f"{base.replace('/main', '/nobranch')}/config.json")
    assert (no_rev.status_code, no_rev.headers["X-Error-Code"]) == (404, "RevisionNotFound")
    assert ("HEAD", f"/{REPO}/resolve/main/config.json") in hub.requests


# ------------------------------------------------------------------ subprocess, hub-cache layout


def test_snapshot_download_cache_layout_cache_hit_and_publish(hub: FakeHub, tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    sha1 = hub.add_repo(REPO, FILES)
    assert HEX40.fullmatch(sha1)

    out = run_download(hub, repo_id=REPO, cache_dir=cache)
    repo_dir = cache / REPO_DIR
    snapshot = repo_dir / "snapshots" / sha1
    assert out.stdout.strip().splitlines()[-1] == str(snapshot)
    assert _snapshot_files(snapshot) == FILES
    assert (repo_dir / "refs" / "main").read_text() == sha1

    # Blob names are the (unquoted) etags: sha256 for LFS files, git blob sha1 for regular ones.
    etags = {path: hub.etag(REPO, path) for path in FILES}
    assert HEX64.fullmatch(etags["model.safetensors"])
    assert etags["model.safetensors"] == hashlib.sha256(FILES["model.safetensors"]).hexdigest()
    assert etags["config.json"] == git_blob_sha1(FILES["config.json"])
    assert blob_names(repo_dir) == set(etags.values())
    for path, etag in etags.items():
        link = snapshot / path
        assert link.is_symlink()
        assert link.resolve() == (repo_dir / "blobs" / etag).resolve()

    info = scan_cache_dir(cache)
    assert [r.repo_id for r in info.repos] == [REPO]
    cached = next(iter(info.repos))
    assert cached.repo_type == "model"
    assert cached.nb_files == len(FILES)
    assert cached.size_on_disk == sum(len(c) for c in FILES.values())
    assert {rev.commit_hash for rev in cached.revisions} == {sha1}
    assert next(iter(cached.revisions)).refs == frozenset({"main"})
    assert dict(hub.downloads) == dict.fromkeys(FILES, 1)

    # Second snapshot_download: only the repo-info call, no HEAD/GET on files (tree listing cached on disk).
    hub.reset_stats()
    run_download(hub, repo_id=REPO, cache_dir=cache)
    assert not hub.downloads
    assert hub.requests == [("GET", f"/api/models/{REPO}/revision/main")]

    # New revision: one file changed, one deleted, one added.
    new_config = b'{"hidden_size": 16}\n'
    sha2 = hub.publish(REPO, {"config.json": new_config, "README.md": None, "extra.txt": b"x"})
    assert sha2 != sha1
    assert hub.etag(REPO, "model.safetensors") == etags["model.safetensors"]  # unchanged => same etag
    hub.reset_stats()
    run_download(hub, repo_id=REPO, cache_dir=cache)
    assert dict(hub.downloads) == {"config.json": 1, "extra.txt": 1}
    assert sorted(p.name for p in (repo_dir / "snapshots").iterdir()) == sorted([sha1, sha2])
    assert (repo_dir / "refs" / "main").read_text() == sha2
    expected2 = {**FILES, "config.json": new_config, "extra.txt": b"x"}
    del expected2["README.md"]
    assert _snapshot_files(repo_dir / "snapshots" / sha2) == expected2
    assert _snapshot_files(snapshot) == FILES  # old snapshot untouched
    cached = next(iter(scan_cache_dir(cache).repos))
    assert len(cached.revisions) == 2
    assert cached.nb_files == len(FILES) + 2  # blobs are shared between the two snapshots

    # Old revision still downloadable by commit hash (into a fresh cache, so it really hits the hub).
    hub.reset_stats()
    out = run_download(hub, repo_id=REPO, cache_dir=tmp_path / "other", filename="README.md", revision=sha1)
    assert Path(out.stdout.strip().splitlines()[-1]).read_bytes() == FILES["README.md"]
    assert hub.downloads == {"README.md": 1}


def test_local_dir_download_writes_metadata(hub: FakeHub, tmp_path: Path) -> None:
    sha = hub.add_repo("datasets-org/data", {"data/train.csv": b"a,b\n1,2\n"}, repo_type="dataset")
    local = tmp_path / "local"
    run_download(
        hub, repo_id="datasets-org/data", repo_type="dataset", local_dir=local, cache_dir=tmp_path / "hub"
    )
    assert (local / "data" / "train.csv").read_bytes() == b"a,b\n1,2\n"
    metadata = local / ".cache" / "huggingface" / "download" / "data" / "train.csv.metadata"
    commit, etag, _timestamp = metadata.read_text().splitlines()[:3]
    assert (commit, etag) == (sha, hub.etag("datasets-org/data", "data/train.csv", repo_type="dataset"))
    # Quirk (2.4.0): snapshot_download(local_dir=...) still writes `refs/main` into cache_dir, leaving a repo
    # folder without snapshots/ that scan_cache_dir reports as a CorruptedCacheException warning.
    ghost = tmp_path / "hub" / "datasets--datasets-org--data"
    assert sorted(p.relative_to(ghost).as_posix() for p in ghost.rglob("*")) == ["refs", "refs/main"]
    assert (ghost / "refs" / "main").read_text() == sha
    scan = scan_cache_dir(tmp_path / "hub")
    assert not scan.repos
    assert [type(w).__name__ for w in scan.warnings] == ["CorruptedCacheException"]
    assert ("HEAD", "/datasets/datasets-org/data/resolve/" + sha + "/data/train.csv") in hub.requests

    hub.reset_stats()
    run_download(
        hub, repo_id="datasets-org/data", repo_type="dataset", filename="data/train.csv", local_dir=local
    )
    assert not hub.downloads  # up to date according to the metadata file


# ------------------------------------------------------------------ subprocess, slow/broken transfers


def test_throttled_download_shows_incomplete_blob(hub: FakeHub, tmp_path: Path) -> None:
    payload = os.urandom(256 * 1024)
    hub.add_repo(REPO, {"model.safetensors": payload})
    hub.throttle_bytes_per_second = 256 * 1024  # ~1 s
    cache = tmp_path / "hub"
    blobs = cache / REPO_DIR / "blobs"
    proc = start_download(hub, repo_id=REPO, cache_dir=cache)
    try:
        # 2.4.0 writes to `blobs/<etag>.<8 random hex>.incomplete` (process-unique), then renames it.
        _wait_for(lambda: blobs.is_dir() and any(blobs.glob("*.incomplete")))
        (incomplete,) = blobs.glob("*.incomplete")
        assert incomplete.name.startswith(hub.etag(REPO, "model.safetensors") + ".")
        assert proc.poll() is None
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert not list(blobs.glob("*.incomplete"))
    assert (blobs / hub.etag(REPO, "model.safetensors")).read_bytes() == payload


def test_killed_download_leaves_orphan_incomplete(hub: FakeHub, tmp_path: Path) -> None:
    payload = os.urandom(128 * 1024)
    hub.add_repo(REPO, {"model.safetensors": payload})
    hub.throttle_bytes_per_second = 16 * 1024  # ~8 s: we kill it long before
    cache = tmp_path / "hub"
    blobs = cache / REPO_DIR / "blobs"
    proc = start_download(hub, repo_id=REPO, cache_dir=cache)
    try:
        _wait_for(lambda: blobs.is_dir() and any(blobs.glob("*.incomplete")))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    (orphan,) = blobs.glob("*.incomplete")

    # A new process cannot resume it (name is process-unique): it downloads from scratch, orphan stays.
    hub.throttle_bytes_per_second = None
    hub.reset_stats()
    run_download(hub, repo_id=REPO, cache_dir=cache)
    assert (blobs / hub.etag(REPO, "model.safetensors")).read_bytes() == payload
    assert orphan.exists()
    assert not hub.range_requests


def test_fail_after_bytes_is_resumed_by_client_retry(hub: FakeHub, tmp_path: Path) -> None:
    # The client buffers 10 MiB (DOWNLOAD_CHUNK_SIZE) before writing: a cut after >10 MiB is resumed with a
    # Range request; a cut before that loses the buffered bytes and the retry restarts from byte 0.
    big = os.urandom(10 * 1024 * 1024 + 512 * 1024)
    small = os.urandom(8 * 1024)
    hub.add_repo(REPO, {"big.bin": big, "small.bin": small})
    hub.fail_after_bytes = {"big.bin": 10 * 1024 * 1024 + 1000, "small.bin": 1000}
    cache = tmp_path / "hub"

    out = run_download(hub, repo_id=REPO, cache_dir=cache)  # a single run: the retry happens in-process
    snapshot = Path(out.stdout.strip().splitlines()[-1])
    assert (snapshot / "big.bin").read_bytes() == big
    assert (snapshot / "small.bin").read_bytes() == small
    assert not hub.fail_after_bytes  # consumed
    # big.bin: resumed where the written data stops (2.4.0: exactly at 10 MiB); small.bin: full re-GET.
    ((path, range_header),) = hub.range_requests
    match = re.fullmatch(r"bytes=(\d+)-", range_header)
    assert path == "big.bin" and match is not None
    assert 0 < int(match.group(1)) <= 10 * 1024 * 1024 + 1000
    assert dict(hub.downloads) == {"big.bin": 1, "small.bin": 1}  # interrupted bodies are not counted
    gets = _resolve_gets(hub)
    assert gets.count(f"/{REPO}/resolve/{hub.head(REPO)}/small.bin") == 2
    assert gets.count(f"/{REPO}/resolve/{hub.head(REPO)}/big.bin") == 2
    assert not list((cache / REPO_DIR / "blobs").glob("*.incomplete"))


# ------------------------------------------------------------------ in-process client


def test_in_process_downloads_and_errors(hub: FakeHub, tmp_path: Path) -> None:
    sha = hub.add_repo(REPO, FILES)
    hub.add_repo("org/ds", {"a.txt": b"A"}, repo_type="dataset")
    cache = tmp_path / "hub"
    with hermetic_client():
        path = hf_hub_download(REPO, "config.json", cache_dir=cache, endpoint=hub.endpoint)
        assert Path(path) == cache / REPO_DIR / "snapshots" / sha / "config.json"
        assert Path(path).read_bytes() == FILES["config.json"]
        ds = hf_hub_download("org/ds", "a.txt", repo_type="dataset", cache_dir=cache, endpoint=hub.endpoint)
        assert Path(ds).read_bytes() == b"A"
        assert "/datasets/org/ds/resolve/main/a.txt" in _resolve_gets(hub)
        hub.add_repo("org/space", {"app.py": b"print(1)\n"}, repo_type="space")
        space = snapshot_download("org/space", repo_type="space", cache_dir=cache, endpoint=hub.endpoint)
        assert Path(space, "app.py").read_bytes() == b"print(1)\n"
        assert Path(space).parent.parent.name == "spaces--org--space"

        with pytest.raises(RemoteEntryNotFoundError):
            hf_hub_download(REPO, "missing.txt", cache_dir=cache, endpoint=hub.endpoint)
        assert (cache / REPO_DIR / ".no_exist" / sha / "missing.txt").exists()
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download("org/ghost", "x", cache_dir=cache, endpoint=hub.endpoint)
        with pytest.raises(RevisionNotFoundError):
            snapshot_download(REPO, revision="nobranch", cache_dir=cache, endpoint=hub.endpoint)

        snap = snapshot_download(REPO, cache_dir=cache, endpoint=hub.endpoint)
        assert _snapshot_files(Path(snap)) == FILES
        local = snapshot_download(REPO, local_dir=tmp_path / "local", cache_dir=cache, endpoint=hub.endpoint)
        assert _snapshot_files(Path(local)) == FILES
        assert (Path(local) / ".cache/huggingface/download/model.safetensors.metadata").is_file()


def test_tree_pagination_and_listing(hub: FakeHub, tmp_path: Path) -> None:
    files = {f"shard-{i}.txt": str(i).encode() for i in range(5)} | {"nested/deep/x.txt": b"x"}
    sha = hub.add_repo(REPO, files, lfs={"shard-0.txt"})
    hub.tree_page_size = 2
    with hermetic_client():
        api = HfApi(endpoint=hub.endpoint)
        top = {e.path for e in api.list_repo_tree(REPO)}
        assert top == {"nested"} | {f"shard-{i}.txt" for i in range(5)}
        recursive = {e.path: e for e in api.list_repo_tree(REPO, recursive=True, revision=sha)}
        assert set(recursive) == set(files) | {"nested", "nested/deep"}
        shard0, shard1 = recursive["shard-0.txt"], recursive["shard-1.txt"]
        assert isinstance(shard0, RepoFile) and isinstance(shard1, RepoFile)
        assert isinstance(recursive["nested"], RepoFolder)
        assert shard0.lfs is not None  # explicit `lfs=` set
        assert shard1.lfs is None
        info = api.model_info(REPO, files_metadata=True)
        assert info.sha == sha
        assert {s.rfilename for s in info.siblings or []} == set(files)

        hub.reset_stats()
        snap = snapshot_download(REPO, cache_dir=tmp_path / "hub", endpoint=hub.endpoint)
    assert _snapshot_files(Path(snap)) == files
    tree_calls = [p for m, p in hub.requests if "/tree/" in p]
    assert len(tree_calls) == 4  # 8 entries (6 files + 2 dirs), 2 per page
    assert hub.etag(REPO, "shard-0.txt") == hashlib.sha256(b"0").hexdigest()
