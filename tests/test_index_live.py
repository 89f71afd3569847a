"""The running index: real downloads, deletions and failures change /metrics within 2 s, without a full rescan."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import cachefixture
import pytest
from fakehub import FakeHub, run_download, start_download
from helpers import InProcess, Process, wait_for
from huggingface_hub import scan_cache_dir

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
FAST = ["--collector.cache.poll-interval", "200ms", "--collector.cache.scan-workers", "0"]
WEIGHTS = bytes(range(256)) * 40


def size(ex: InProcess, repo: str, root: str = "hub") -> float | None:
    return ex.get("modelcache_model_size_bytes", root=root, repo=repo, repo_type="model")


def scans(ex: InProcess, kind: str) -> float | None:
    return ex.get("modelcache_index_scans_total", root="hub", **{"pass": kind})


@pytest.fixture
def cache(hub: FakeHub, tmp_path: Path) -> Path:
    hub.add_repo("org/model", {"config.json": b"{}\n", "model.safetensors": WEIGHTS})
    run_download(hub, repo_id="org/model", cache_dir=str(tmp_path / "hub"))
    return tmp_path / "hub"


@pytest.fixture
def running(cache: Path, tmp_path: Path) -> Iterator[InProcess]:
    with InProcess(["--path.cache", str(cache), "--path.state", str(tmp_path / "state"), *QUIET, *FAST]) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        yield ex


def test_add_complete_and_delete_within_2s_without_full_rescan(running: InProcess, hub: FakeHub, cache: Path) -> None:
    ex = running
    assert size(ex, "org/model") == len(WEIGHTS) + 3
    full = (scans(ex, "size"), scans(ex, "reconcile"))
    hub.publish("org/model", {"extra.bin": b"\x09" * 3000})
    run_download(hub, repo_id="org/model", cache_dir=str(cache), filename="extra.bin")
    ex.wait("modelcache_model_files", lambda v: v == 3, timeout=2, root="hub", repo="org/model", repo_type="model")

    hub.add_repo("org/slow", {"big.bin": b"\x05" * 400_000})
    hub.throttle_bytes_per_second = 200_000
    proc = start_download(hub, repo_id="org/slow", cache_dir=str(cache))
    ex.wait("modelcache_root_incomplete_files", lambda v: v == 1, timeout=2, root="hub")
    assert proc.wait(30) == 0
    ex.wait("modelcache_root_incomplete_files", lambda v: v == 0, timeout=2, root="hub")
    assert ex.wait(
        "modelcache_model_size_bytes", lambda v: v == 400_000, timeout=2, root="hub", repo="org/slow", repo_type="model"
    )

    blob = os.path.realpath(next(cache.glob("models--org--model/snapshots/*/extra.bin")))
    for link in cache.glob("models--org--model/snapshots/*/extra.bin"):
        link.unlink()
    os.unlink(blob)
    ex.wait("modelcache_model_files", lambda v: v == 2, timeout=2, root="hub", repo="org/model", repo_type="model")

    assert (scans(ex, "size"), scans(ex, "reconcile")) == full  # no full rescan was needed
    assert (scans(ex, "rescan") or 0) >= 3
    theirs = {r.repo_id: (r.size_on_disk, r.nb_files) for r in scan_cache_dir(cache).repos}
    for repo, (nbytes, files) in theirs.items():
        assert size(ex, repo) == nbytes
        assert ex.get("modelcache_model_files", root="hub", repo=repo, repo_type="model") == files


def test_missing_root_then_created(hub: FakeHub, tmp_path: Path) -> None:
    root = tmp_path / "later" / "hub"
    with InProcess(["--path.cache", str(root), "--path.state", str(tmp_path / "s"), *QUIET, *FAST]) as ex:
        ex.wait("modelcache_index_ready", lambda v: v == 1, root="hub")
        assert ex.get("modelcache_root_present", root="hub") == 0
        assert ex.get("modelcache_root_size_bytes", root="hub") == 0
        hub.add_repo("org/model", {"w.bin": b"\x01" * 2000})
        run_download(hub, repo_id="org/model", cache_dir=str(root))
        ex.wait("modelcache_root_present", lambda v: v == 1, timeout=3, root="hub")
        ex.wait(
            "modelcache_model_size_bytes",
            lambda v: v == 2000,
            timeout=3,
            root="hub",
            repo="org/model",
            repo_type="model",
        )


def test_root_deleted_and_recreated_while_running(running: InProcess, hub: FakeHub, cache: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    shutil.rmtree(cache)
    running.wait("modelcache_root_present", lambda v: v == 0, timeout=2, root="hub")
    assert running.get("modelcache_index_watches", root="hub") == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # lost cleanly, not through a retry
    assert running.get("modelcache_root_size_bytes", root="hub") == 0
    assert size(running, "org/model") is None
    run_download(hub, repo_id="org/model", cache_dir=str(cache))  # the 30-minute first start, again
    running.wait("modelcache_root_present", lambda v: v == 1, timeout=3, root="hub")
    running.wait(
        "modelcache_model_size_bytes",
        lambda v: v == len(WEIGHTS) + 3,
        timeout=3,
        root="hub",
        repo="org/model",
        repo_type="model",
    )
    running.wait("modelcache_index_mode", lambda v: v == 1, timeout=3, root="hub", mode="inotify")


def test_symlink_loops_are_counted_and_serving_goes_on(tmp_path: Path) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    loop = cache / "models--org--alpha" / "blobs" / ("c" * 40)
    os.symlink(loop.name, loop)
    snap = next((cache / "datasets--org--data" / "snapshots").iterdir())
    os.symlink("self.txt", snap / "self.txt")  # a snapshot entry that loops
    os.symlink("/etc/passwd", snap / "passwd")  # one that leaves the cache: never followed
    with InProcess(["--path.cache", str(cache), "--path.state", str(tmp_path / "s"), *QUIET, *FAST]) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        assert ex.get("modelcache_root_scan_errors", root="hub", kind="symlink_loop") == 2
        assert ex.get("modelcache_root_corruptions", root="hub", kind="broken_link") == 1
        assert ex.get("modelcache_root_corruptions", root="hub", kind="external_link") == 1
        assert ex.get("modelcache_model_size_bytes", root="hub", repo="org/data", repo_type="dataset") == 407
        assert size(ex, "org/alpha") == 12301


def test_unreadable_subdirectory_is_reported_as_a_permission_error(tmp_path: Path) -> None:
    """Permission bits apply to the exporter as to an unprivileged sidecar (root's override is dropped)."""
    cache = cachefixture.build(tmp_path / "hub")
    locked = cache / "datasets--org--data" / "blobs"
    locked.chmod(0o000)
    try:
        with Process(
            ["--path.cache", str(cache), "--path.state", str(tmp_path / "state"), *QUIET, *FAST], unprivileged=True
        ) as proc:
            wait_for(lambda: proc.value("modelcache_index_verified", root="hub") == 1, 10)
            text = proc.metrics()
            assert proc.value("modelcache_root_scan_errors", root="hub", kind="permission") == 1
            assert 'modelcache_model_size_bytes{repo="org/alpha",repo_type="model",root="hub"} 12301.0' in text
    finally:
        locked.chmod(0o755)


def test_a_hanging_statvfs_is_time_boxed(tmp_path: Path) -> None:
    (tmp_path / "dead").mkdir()
    (tmp_path / "alive").mkdir()
    release = threading.Event()

    def statvfs(path: str) -> os.statvfs_result:
        if path.endswith("dead"):
            release.wait()  # a dead NFS mount: blocks until the test ends
        return os.statvfs(path)

    args = [
        "--path.cache",
        str(tmp_path / "dead"),
        "--path.cache",
        str(tmp_path / "alive"),
        "--path.state",
        str(tmp_path / "s"),
        "--collector.filesystem.timeout",
        "300ms",
        "--collector.filesystem.interval",
        "100ms",
        "--no-collector.probe",
    ]
    with InProcess(args, statvfs=statvfs) as ex:
        try:
            ex.wait("modelcache_filesystem_device_error", lambda v: v == 1, timeout=3, root="dead")
            assert ex.get("modelcache_filesystem_device_error", root="alive") == 0
            assert (ex.get("modelcache_filesystem_avail_bytes", root="alive") or 0) > 0
            assert ex.get("modelcache_filesystem_avail_bytes", root="dead") is None
            assert ex.get("modelcache_scrape_collector_success", collector="filesystem") == 1
        finally:
            release.set()
        ex.wait("modelcache_filesystem_device_error", lambda v: v == 0, timeout=3, root="dead")


def test_watch_budget_exhausted_falls_back_to_polling(running: InProcess, cache: Path, tmp_path: Path) -> None:
    args = [
        "--path.cache",
        str(cache),
        "--path.state",
        str(tmp_path / "s2"),
        "--collector.cache.max-watches",
        "1",
        *QUIET,
        *FAST,
    ]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_mode", lambda v: v == 1, root="hub", mode="poll")
        assert (ex.get("modelcache_index_fallbacks_total", root="hub") or 0) >= 1
        assert ex.get("modelcache_index_watches", root="hub") == 0
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        blob = os.path.realpath(next(cache.glob("models--org--model/snapshots/*/config.json")))
        os.unlink(blob)
        ex.wait("modelcache_root_corruptions", lambda v: v == 1, timeout=2, root="hub", kind="broken_link")


def test_reconciliation_corrects_what_events_missed(cache: Path, tmp_path: Path) -> None:
    args = [
        "--path.cache",
        str(cache),
        "--path.state",
        str(tmp_path / "s"),
        "--collector.cache.reconcile-interval",
        "1s",
        *QUIET,
        *FAST,
    ]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        blob = os.path.realpath(next(cache.glob("models--org--model/snapshots/*/model.safetensors")))
        os.truncate(blob, 1000)  # changes a blob's size in place: no create/delete/rename event
        ex.wait("modelcache_index_corrections_total", lambda v: (v or 0) >= 1, timeout=5, root="hub")
        assert size(ex, "org/model") == 1003
