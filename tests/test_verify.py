"""Offline verification on caches the real huggingface_hub client wrote (against the fake Hub): a byte flipped
in a blob (same size, same mtime) or a truncated local-dir file is named, by the running exporter's /metrics
and by `check --verify` (exit 1); a clean cache is 0 and exit 0; a restart re-hashes nothing unchanged."""

from __future__ import annotations

import os
from pathlib import Path

from fakehub import FakeHub, run_download
from test_check import check
from test_ledger import Sidecar

from modelcache_exporter.integrity.run import verify_model

FILES = {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * 60_000, "tok/vocab.txt": b"a\nb\n"}
KEY = "models--org--tts"


def _flip(path: Path, offset: int = 100) -> None:
    """Change one byte in place, keeping the size and the mtime (as a disk error or a bad copy would)."""
    st = os.stat(path)
    with open(path, "r+b") as fh:
        fh.seek(offset)
        old = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([old[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size


def _blob(cache: Path, key: str, size: int) -> Path:
    return next(p for p in (cache / key / "blobs").iterdir() if p.stat().st_size == size)


def _download(hub: FakeHub, cache: Path, *repos: str) -> list[str]:
    """The commits downloaded."""
    commits = []
    for repo in repos:
        commits.append(hub.add_repo(repo, FILES))
        run_download(hub, repo_id=repo, cache_dir=str(cache))
    return commits


def test_every_blob_of_a_clean_download_matches_its_name(hub: FakeHub, tmp_path: Path) -> None:
    _download(hub, tmp_path, "org/tts")
    names = {p.name for p in (tmp_path / KEY / "blobs").iterdir()}
    assert {len(n) for n in names} == {40, 64}  # git sha1 (small files) and sha256 (LFS) both present
    r = verify_model(str(tmp_path), "hf-hub", KEY, "", 0)
    assert (r.files, r.corrupt, r.unreadable, r.bytes) == (3, (), 0, sum(map(len, FILES.values())))


def test_a_flipped_byte_is_named_by_the_exporter_and_by_check(hub: FakeHub, tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    commit = _download(hub, cache, "org/tts", "org/clean")[0]
    blob = _blob(cache, KEY, 60_000)
    _flip(blob)
    with Sidecar(cache, tmp_path / "state", "--collector.verify.max-bytes-per-second=1000000000") as ex:
        labels = {"root": "hub", "repo_type": "model"}
        ex.wait("modelcache_model_corrupt_files", lambda v: v == 1, 30, repo="org/tts", **labels)
        ex.wait("modelcache_verify_progress_ratio", lambda v: v == 1, 30, root="hub")
        assert ex.get("modelcache_model_corrupt_files", repo="org/clean", **labels) == 0
        assert ex.get("modelcache_model_verified_files", repo="org/clean", **labels) == 3
        assert ex.get("modelcache_model_verified_files", repo="org/tts", **labels) == 2
        assert ex.get("modelcache_verify_hashed_bytes_total", root="hub") == 2 * sum(map(len, FILES.values()))
    with Sidecar(cache, tmp_path / "state", "--collector.verify.max-bytes-per-second=1000000000") as ex:
        # a restart: the verdicts come from the state directory, and nothing is read again
        ex.wait("modelcache_verify_last_pass_timestamp_seconds", lambda v: v is not None, 30, root="hub")
        assert ex.get("modelcache_model_corrupt_files", repo="org/tts", **labels) == 1
        assert ex.get("modelcache_verify_hashed_bytes_total", root="hub") == 0
    out = check("--path.cache", str(cache), "--verify")
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"CORRUPT org/tts revision={commit}" in out.stdout
    assert f"path=model.safetensors blob={blob.name}" in out.stdout
    assert "RESULT CORRUPT: 5 files" in out.stdout and "1 corrupt" in out.stdout
    only = check("--path.cache", str(cache), "--verify-only", "org/clean")
    assert only.returncode == 0 and "RESULT OK: 3 files" in only.stdout, only.stdout


def test_a_clean_cache_is_ok(hub: FakeHub, tmp_path: Path) -> None:
    _download(hub, tmp_path, "org/tts")
    out = check("--path.cache", str(tmp_path), "--verify")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "RESULT OK: 3 files" in out.stdout and "0 corrupt" in out.stdout


def test_a_truncated_local_dir_file_is_named(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("IndexTeam/IndexTTS-2", FILES)
    local = tmp_path / "checkpoints"
    run_download(hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(local))
    r = verify_model(str(local), "hf-local-dir", ".", "", 0)
    assert (r.files, r.corrupt) == (3, ())
    with open(local / "model.safetensors", "r+b") as fh:
        fh.truncate(30_000)
    r = verify_model(str(local), "hf-local-dir", ".", "", 0)
    assert r.corrupt == ("model.safetensors",) and r.files == 2
    out = check("--path.cache", str(local), "--verify")
    assert out.returncode == 1 and "CORRUPT" in out.stdout and "model.safetensors" in out.stdout, out.stdout


def test_a_restart_does_not_hash_unchanged_files_again(hub: FakeHub, tmp_path: Path) -> None:
    _download(hub, tmp_path / "hub", "org/tts")
    db, root = str(tmp_path / "verify.sqlite"), str(tmp_path / "hub")
    first = verify_model(root, "hf-hub", KEY, db, 0)
    assert first.hashed_bytes == sum(map(len, FILES.values())) and first.files == 3
    again = verify_model(root, "hf-hub", KEY, db, 0)  # a new process would open the same file
    assert again.hashed_bytes == 0 and again.files == 3
    blob = _blob(tmp_path / "hub", KEY, 60_000)
    _flip(blob)  # same size and mtime, but the change time moved: hashed again, and found
    third = verify_model(root, "hf-hub", KEY, db, 0)
    assert third.hashed_bytes == 60_000 and third.corrupt == (blob.name,)


def test_a_model_being_downloaded_into_is_not_verified(hub: FakeHub, tmp_path: Path) -> None:
    _download(hub, tmp_path, "org/tts")
    (tmp_path / KEY / "blobs" / ("c" * 64 + ".incomplete")).write_bytes(b"x" * 10)
    r = verify_model(str(tmp_path), "hf-hub", KEY, "", 0)
    assert r.busy and r.hashed_bytes == 0
    out = check("--path.cache", str(tmp_path), "--verify")
    assert out.returncode == 0 and "SKIPPED org/tts" in out.stdout, out.stdout
