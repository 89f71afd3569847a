"""The fault matrix: each fault done for real to a running exporter process, which must keep serving /metrics,
and whose metrics must tell the truth afterwards.

Permission faults run the exporter with root's DAC override dropped (`Process(unprivileged=True)`), so
permission bits apply as they do to a non-root sidecar. A full disk is a real write failure: the file size
limit (RLIMIT_FSIZE) of the running exporter is lowered to the ledger's current size, so SQLite's next write
fails with EFBIG, as it fails with ENOSPC on a full disk (CPython ignores SIGXFSZ, so the write returns an
error instead of killing the process). The inotify watch limit is the per-root budget
(--collector.cache.max-watches): the kernel's limit is global and is not lowered by a test. Covered
elsewhere: a subfolder unreadable, symlink loops, a hanging statvfs (an injected statvfs that blocks),
the same root and budget stories in-process (tests/test_index_live.py); symlinks out of a root
(tests/test_symlinks.py); SIGTERM and SIGHUP (tests/test_signals.py).
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import cachefixture
import pytest
import requests
from helpers import Process, value, wait_for

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
FAST = ["--collector.cache.poll-interval", "200ms", "--collector.cache.scan-workers", "0"]


def rsync(dest: Path, data: bytes) -> None:
    """rsync's way: a hidden temporary file renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.Ab12Cd")
    tmp.write_bytes(data)
    os.rename(tmp, dest)


def write_lines(path: Path, first: int, last: int, mode: str = "a") -> None:
    with open(path, mode) as fh:
        fh.write("".join(f"line {n}\n" for n in range(first, last + 1)))


def first_downloads(proc: Process, root: str = "hf_cache") -> float:
    return proc.value("modelcache_downloads_total", root=root, reason="first") or 0.0


def ledger(proc: Process) -> dict[str, float]:
    text = proc.metrics()
    kinds = ("open", "corrupt", "locked", "readonly", "write")
    out = {k: value(text, "modelcache_ledger_errors_total", kind=k) or 0.0 for k in kinds}
    out["persistent"] = value(text, "modelcache_ledger_persistent") or 0.0
    return out


def expect_ledger(proc: Process, **errors: float) -> None:
    """Wait until the ledger's error counters read `errors` (others 0) and it is kept in memory."""
    want = {"open": 0.0, "corrupt": 0.0, "locked": 0.0, "readonly": 0.0, "write": 0.0, **errors, "persistent": 0.0}
    deadline = time.monotonic() + 10
    while ledger(proc) != want and time.monotonic() < deadline:  # the ledger thread reports after its open
        time.sleep(0.05)
    assert ledger(proc) == want


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "hf_cache"
    path.mkdir()
    yield path
    for p in [tmp_path, *tmp_path.rglob("*")]:  # give every folder back its permissions for the clean-up
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)


def test_state_directory_unwritable(tmp_path: Path, tree: Path) -> None:
    state, log = tmp_path / "state", tmp_path / "webui.log"
    state.mkdir()
    state.chmod(0o555)
    write_lines(log, 1, 10)
    args = ["--path.cache", str(tree), "--path.state", str(state), "--path.webui-log", str(log), *QUIET, *FAST]
    args += ["--collector.logs.position-interval", "200ms"]
    with Process(args, unprivileged=True) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hf_cache") == 1)
        expect_ledger(proc, readonly=1)
        rsync(tree / "bigvgan" / "bigvgan_generator.pt", b"\x01" * 1000)
        wait_for(lambda: first_downloads(proc) == 1)  # classified all the same, in memory
        wait_for(lambda: proc.value("modelcache_log_lines_total", log="webui") == 10)
        time.sleep(0.5)  # position saves fail (logged), reading goes on
        write_lines(log, 11, 20)
        wait_for(lambda: proc.value("modelcache_log_lines_total", log="webui") == 20)
        assert proc.value("modelcache_ledger_artifacts", root="hf_cache") == 1
    assert "download ledger unusable (readonly" in proc.stderr
    assert "cannot save log positions" in proc.stderr
    assert list(state.iterdir()) == []


def test_ledger_file_corrupt_at_start(tmp_path: Path, tree: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "ledger.sqlite").write_bytes(b"this is not a database\n" * 100)
    with Process(["--path.cache", str(tree), "--path.state", str(state), *QUIET, *FAST]) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hf_cache") == 1)
        expect_ledger(proc, corrupt=1)
        rsync(tree / "campplus_cn_common.bin", b"\x02" * 700)
        wait_for(lambda: first_downloads(proc) == 1)
        assert proc.value("modelcache_download_bytes_total", root="hf_cache", reason="first") == 700
    assert (state / "ledger.sqlite").read_bytes().startswith(b"this is not a database")  # left for a human


def test_disk_full_while_writing_the_ledger(tmp_path: Path, tree: Path) -> None:
    state = tmp_path / "state"
    with Process(["--path.cache", str(tree), "--path.state", str(state), *QUIET, *FAST]) as proc:
        wait_for(lambda: proc.value("modelcache_ledger_persistent") == 1)
        rsync(tree / "a.bin", b"\x01" * 100)
        wait_for(lambda: first_downloads(proc) == 1)
        size = max(p.stat().st_size for p in state.iterdir() if p.name.startswith("ledger.sqlite"))
        resource.prlimit(proc.proc.pid, resource.RLIMIT_FSIZE, (size, size))  # no file may grow any more
        for i in range(5):
            rsync(tree / f"model-{i}" / "weights.bin", os.urandom(2000))
        wait_for(lambda: first_downloads(proc) == 6)  # every download still classified, in memory
        expect_ledger(proc, write=1)
        assert proc.value("modelcache_ledger_artifacts", root="hf_cache") == 6  # the file's content carried over
        (tree / "a.bin").unlink()  # lost, and synced again: the in-memory ledger still knows it
        wait_for(lambda: proc.value("modelcache_artifact_removals_total", root="hf_cache") == 1)
        rsync(tree / "a.bin", b"\x01" * 100)
        wait_for(lambda: proc.value("modelcache_downloads_total", root="hf_cache", reason="redownload") == 1)
        code = proc.stop()
    assert code == 0
    assert "download ledger unusable (write: " in proc.stderr


def test_log_file_unreadable_deleted_and_replaced_by_a_directory(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 50)
    log.chmod(0o000)
    args = ["--path.state", str(tmp_path / "state"), "--path.webui-log", str(log), "--no-collector.cache", *QUIET]
    args += ["--collector.logs.rotate-wait", "200ms"]

    def logs(proc: Process) -> tuple[float | None, ...]:
        text = proc.metrics()
        names = ("lines_total", "files", "read_errors_total")
        return tuple(value(text, f"modelcache_log_{n}", log="webui") for n in names)

    with Process(args, unprivileged=True) as proc:
        wait_for(lambda: logs(proc) == (0, 0, 1), what="the unreadable log counted as a read error")
        log.chmod(0o644)
        wait_for(lambda: logs(proc) == (50, 1, 1))
        log.unlink()
        wait_for(lambda: logs(proc) == (50, 0, 1))
        log.mkdir()  # the path is now a directory: not followed, not an error
        time.sleep(0.5)
        assert logs(proc) == (50, 0, 1)
        log.rmdir()
        write_lines(log, 51, 80, "w")
        wait_for(lambda: logs(proc) == (80, 1, 1))
        assert proc.value("modelcache_log_rotations_total", log="webui") == 1


def test_a_fifo_where_a_file_belongs_never_blocks(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer: a FIFO planted as the log, as a hub ref, as a local-dir
    .metadata or as the shared store's marker would hang its reader for ever. None of them is opened."""
    hub = cachefixture.build(tmp_path / "hub")
    os.mkfifo(hub / "models--org--alpha" / "refs" / "stuck")
    local = tmp_path / "checkpoints"
    (local / ".cache" / "huggingface" / "download").mkdir(parents=True)
    (local / "gpt.pth").write_bytes(b"\x01" * 300)
    os.mkfifo(local / ".cache" / "huggingface" / "download" / "gpt.pth.metadata")
    os.mkfifo(tmp_path / "webui.log")
    args = ["--path.cache", str(hub), "--path.cache", str(local), "--path.state", str(tmp_path / "s")]
    args += ["--path.webui-log", str(tmp_path / "webui.log"), *QUIET, *FAST]
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_verified", root="hub") == 1, 10)
        wait_for(lambda: proc.value("modelcache_index_ready", root="checkpoints") == 1, 10)
        text = proc.metrics()
        assert value(text, "modelcache_model_size_bytes", root="hub", repo="org/alpha", repo_type="model") == 12301
        assert value(text, "modelcache_root_scan_errors", root="hub", kind="io_error") == 1
        assert value(text, "modelcache_root_scan_errors", root="checkpoints", kind="io_error") == 1
        assert value(text, "modelcache_root_unreferenced_files", root="checkpoints") == 1
        assert value(text, "modelcache_log_files", log="webui") == 0
        t0 = time.monotonic()
        requests.get(proc.url + "/metrics", timeout=5).raise_for_status()
        assert time.monotonic() - t0 < 1.0
        code = proc.stop()
    assert code == 0


def test_cache_root_made_unreadable_while_running(tmp_path: Path) -> None:
    hub = cachefixture.build(tmp_path / "hub")
    args = ["--path.cache", str(hub), "--path.state", str(tmp_path / "s"), *QUIET, *FAST]
    args += ["--collector.cache.reconcile-interval", "1s"]
    try:
        with Process(args, unprivileged=True) as proc:
            wait_for(lambda: proc.value("modelcache_index_verified", root="hub") == 1)
            before = proc.value("modelcache_root_size_bytes", root="hub")
            hub.chmod(0o000)
            wait_for(lambda: (proc.value("modelcache_root_scan_errors", root="hub", kind="permission") or 0) >= 1, 10)
            text = proc.metrics()
            assert value(text, "modelcache_root_present", root="hub") == 1
            assert value(text, "modelcache_root_size_bytes", root="hub") == before  # as last seen
            hub.chmod(0o755)
            wait_for(lambda: proc.value("modelcache_root_scan_errors", root="hub", kind="permission") == 0, 10)
            assert proc.value("modelcache_root_size_bytes", root="hub") == before
            assert proc.value("modelcache_cache_wipes_total", root="hub") == 0  # unreadable is not wiped
            assert proc.value("modelcache_artifact_removals_total", root="hub") == 0
        assert "Traceback" not in proc.stderr
    finally:
        hub.chmod(0o755)


def test_cache_root_unreadable_at_start(tmp_path: Path) -> None:
    hub = cachefixture.build(tmp_path / "hub")
    hub.chmod(0o000)
    args = ["--path.cache", str(hub), "--path.state", str(tmp_path / "s"), *QUIET, *FAST]
    args += ["--collector.cache.reconcile-interval", "1s"]
    try:
        with Process(args, unprivileged=True) as proc:
            wait_for(lambda: proc.value("modelcache_index_ready", root="hub") == 1, 10)
            assert (proc.value("modelcache_root_scan_errors", root="hub", kind="permission") or 0) >= 1
            assert proc.value("modelcache_root_models", root="hub") == 0
            hub.chmod(0o755)
            wait_for(lambda: proc.value("modelcache_root_models", root="hub") == 5, 10)
            wait_for(lambda: proc.value("modelcache_root_scan_errors", root="hub", kind="permission") == 0, 10)
            wait_for(lambda: proc.value("modelcache_ledger_artifacts", root="hub") == 12)  # first seen: recorded
            assert first_downloads(proc, "hub") == 0  # ... not counted as downloads (they were there all along)
        assert "Traceback" not in proc.stderr
    finally:
        hub.chmod(0o755)
        shutil.rmtree(hub)


def test_root_missing_at_start_created_deleted_and_recreated(tmp_path: Path) -> None:
    """The same story as tests/test_index_live.py, end to end over HTTP, with the ledger's view of it."""
    root = tmp_path / "later" / "hf_cache"
    args = ["--path.cache", str(root), "--path.state", str(tmp_path / "s"), *QUIET, *FAST]
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hf_cache") == 1)
        assert proc.value("modelcache_root_present", root="hf_cache") == 0
        rsync(root / "bigvgan" / "g.pt", b"\x01" * 1000)  # created by the first start: downloads
        wait_for(lambda: proc.value("modelcache_root_size_bytes", root="hf_cache") == 1000)
        wait_for(lambda: first_downloads(proc) == 1)
        shutil.rmtree(root)  # the volume went missing
        wait_for(lambda: proc.value("modelcache_root_present", root="hf_cache") == 0)
        wait_for(lambda: proc.value("modelcache_cache_wipes_total", root="hf_cache") == 1)
        rsync(root / "bigvgan" / "g.pt", b"\x01" * 1000)  # and the 30-minute first start happened again
        wait_for(lambda: proc.value("modelcache_downloads_total", root="hf_cache", reason="redownload") == 1)
        assert proc.value("modelcache_root_size_bytes", root="hf_cache") == 1000
        assert proc.value("modelcache_index_mode", root="hf_cache", mode="inotify") == 1


def test_watch_budget_used_up_falls_back_to_polling(tmp_path: Path) -> None:
    """The kernel's inotify limit is global (lowering it would hurt the machine): the per-root budget
    --collector.cache.max-watches is the same code path (WatchLimitReached), exercised for real here."""
    root = tmp_path / "hf_cache"
    for i in range(5):
        rsync(root / f"model-{i}" / "sub" / "w.bin", b"\x01" * 10)
    args = ["--path.cache", str(root), "--path.state", str(tmp_path / "s"), *QUIET, *FAST]
    with Process([*args, "--collector.cache.max-watches", "3"]) as proc:
        wait_for(lambda: proc.value("modelcache_index_mode", root="hf_cache", mode="poll") == 1)
        assert proc.value("modelcache_index_fallbacks_total", root="hf_cache") == 1
        assert proc.value("modelcache_index_watches", root="hf_cache") == 0
        rsync(root / "model-9" / "w.bin", b"\x01" * 500)  # seen by polling
        wait_for(lambda: proc.value("modelcache_root_size_bytes", root="hf_cache") == 550, 5)
        (root / "model-0" / "sub" / "w.bin").unlink()
        wait_for(lambda: proc.value("modelcache_root_size_bytes", root="hf_cache") == 540, 5)
    assert "cannot watch cache root (more than 3 folders to watch); polling" in proc.stderr
