"""The state directory under attack, with the real client and real files: deleted while the exporter runs, on a
filesystem that fills up and then has room again, read-only with a valid ledger in it.

The in-process exporter gets short ledger periods (`state_check`, `state_retry`, `tick`) so that the deletion
and the write-back happen within seconds. A full filesystem is a 1 MB tmpfs mounted for the test (skipped where
mounting is not allowed). The read-only state directory is read by the exporter as a real process with root's
DAC override dropped (`Process(unprivileged=True)`), so permission bits apply as to a non-root sidecar.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakehub import FakeHub, run_download
from helpers import Process, wait_for
from test_ledger import FILES, Sidecar

QUICK = {"state_check": 0.2, "state_retry": 1.0, "tick": 0.1}


def quick(ex: Sidecar) -> Sidecar:
    """Shorten the ledger's periods (before `start`)."""
    ledger = ex.exporter.ledger
    assert ledger is not None
    ledger.settings = dataclasses.replace(ledger.settings, **QUICK)
    return ex


def artifacts(db: Path) -> int:
    """Artifacts recorded in a ledger file (read without writing)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM artifacts").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def setup(hub: FakeHub, tmp_path: Path) -> Iterator[tuple[FakeHub, Path, Path]]:
    hub.add_repo("org/tts", FILES)
    hub.add_repo("org/vocoder", {"g.pt": b"\x03" * 5000})
    yield hub, tmp_path / "hub", tmp_path / "state"


def test_state_directory_deleted_while_running(
    setup: tuple[FakeHub, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    hub, cache, state = setup
    caplog.set_level(logging.WARNING, logger="modelcache_exporter.ledger")
    with quick(Sidecar(cache, state)) as ex:
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(first=3)
        ex.wait("modelcache_ledger_persistent", lambda v: v == 1)
        shutil.rmtree(state)  # SQLite would go on writing to the deleted files
        ex.wait("modelcache_ledger_persistent", lambda v: v == 0, timeout=5)
        ex.wait("modelcache_ledger_persistent", lambda v: v == 1, timeout=10)  # re-created, written back
        assert ex.get("modelcache_ledger_errors_total", kind="open") == 1
        assert artifacts(state / "ledger.sqlite") == 3
        run_download(hub, repo_id="org/vocoder", cache_dir=str(cache))  # kept in the new file
        ex.expect(first=4)
    assert "download ledger unusable (open: state directory or ledger.sqlite deleted or replaced)" in caplog.text
    assert "download ledger usable again" in caplog.text
    with Sidecar(cache, state) as ex:  # restarted on the re-created directory: the history survived
        ex.settle()
        ex.wait("modelcache_ledger_persistent", lambda v: v == 1)
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 4, root="hub")
        shutil.rmtree(cache)
        ex.wait("modelcache_cache_wipes_total", lambda v: v == 1, root="hub")
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(redownload=3)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs (root only: skipped where mounting is not allowed)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt: Path) -> Path:
    """Take every free byte of a filesystem; the file that holds them."""
    filler = mnt / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_state_filesystem_full_then_space_freed(setup: tuple[FakeHub, Path, Path], small_fs: Path) -> None:
    hub, cache, _state = setup
    state = small_fs / "state"
    with quick(Sidecar(cache, state)) as ex:
        ex.settle()
        ex.wait("modelcache_ledger_persistent", lambda v: v == 1)
        filler = fill(small_fs)
        for i in range(8):  # enough new rows to need new pages
            hub.add_repo(f"org/m{i}", {f"w{n}.bin": bytes([i, n]) * 200 for n in range(4)})
            run_download(hub, repo_id=f"org/m{i}", cache_dir=str(cache))
        ex.expect(first=32, timeout=10)
        assert ex.get("modelcache_ledger_persistent") == 0  # kept in memory
        assert ex.get("modelcache_ledger_errors_total", kind="write") == 1
        filler.unlink()  # space returns
        ex.wait("modelcache_ledger_persistent", lambda v: v == 1, timeout=10)
        assert artifacts(state / "ledger.sqlite") == 32  # what memory held is in the file
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(first=35)
    with Sidecar(cache, state) as ex:  # restarted: the arrivals held in memory are known, nothing counted again
        ex.settle()
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 35, root="hub")
        run_download(hub, repo_id="org/m0", cache_dir=str(cache))
        ex.expect()


def test_read_only_state_directory_with_a_valid_ledger(setup: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = setup
    with Sidecar(cache, state) as ex:
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(first=3)
    # Lost while we were down (the old volume kept aside so that inode numbers are not reused).
    shutil.move(cache, cache.with_name("lost-volume"))
    before = sorted(p.name for p in state.iterdir())
    os.chmod(state / "ledger.sqlite", 0o444)
    state.chmod(0o555)
    args = ["--path.cache", str(cache), "--path.state", str(state), "--collector.cache.poll-interval", "200ms"]
    args += ["--collector.cache.scan-workers", "0", "--no-collector.filesystem", "--no-collector.diskstats"]
    try:
        with Process([*args, "--no-collector.probe"], unprivileged=True) as proc:
            wait_for(lambda: proc.value("modelcache_ledger_errors_total", kind="readonly") == 1)
            assert proc.value("modelcache_ledger_persistent") == 0  # new downloads are not kept
            run_download(hub, repo_id="org/tts", cache_dir=str(cache))
            wait_for(lambda: proc.value("modelcache_downloads_total", root="hub", reason="redownload") == 3)
            assert (proc.value("modelcache_downloads_total", root="hub", reason="first") or 0) == 0
            assert proc.value("modelcache_unexpected_redownloads_total", root="hub", repo="org/tts") == 3
    finally:
        state.chmod(0o755)
    assert "download ledger unusable (readonly: " in proc.stderr
    assert "its history is read from the file and used" in proc.stderr
    assert sorted(p.name for p in state.iterdir()) == before  # nothing written next to the ledger
