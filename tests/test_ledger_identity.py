"""Which file holds an artifact: an inode number born again is a new file; the same file coming back is none."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fakehub import FakeHub, run_download
from test_ledger import FILES, Sidecar

from modelcache_exporter.ledger.identity import FileId, file_id, same_file


def test_a_file_created_again_has_a_new_stamp_even_on_the_same_inode(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x")
    first = file_id(str(path))
    assert first.inode == os.stat(path).st_ino and first.stamp > 0
    reused = None
    for _ in range(50):  # ext4 hands the freed inode to the next file: find that case
        path.unlink()
        path.write_bytes(b"x")
        again = file_id(str(path))
        assert again.stamp != first.stamp
        assert not same_file(first, again)
        if again.inode == first.inode:
            reused = again
            break
        first = again
    if reused is not None:
        assert reused.inode == first.inode and not same_file(first, reused)


def test_permission_fixes_and_renames_keep_the_identity(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x")
    was = file_id(str(path))
    time.sleep(0.01)
    os.chmod(path, 0o600)
    os.chown(path, os.getuid(), os.getgid())
    moved = tmp_path / "blob2"
    path.rename(moved)
    assert same_file(was, file_id(str(moved)))
    assert same_file(FileId(was.inode, 0), file_id(str(moved)))  # recorded by an older version: inode alone


@pytest.fixture
def warm(hub: FakeHub, tmp_path: Path) -> tuple[FakeHub, Path, Path]:
    """A hub cache holding org/tts, and a state directory."""
    hub.add_repo("org/tts", FILES)
    cache = tmp_path / "hub"
    run_download(hub, repo_id="org/tts", cache_dir=str(cache))
    return hub, cache, tmp_path / "state"


@contextmanager
def seeded(cache: Path, state: Path) -> Iterator[Sidecar]:
    """The exporter, once its ledger recorded the warm cache."""
    with Sidecar(cache, state) as ex:
        ex.settle()
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 3, root="hub")
        yield ex


def test_a_cache_moved_away_and_back_is_no_download(warm: tuple[FakeHub, Path, Path], tmp_path: Path) -> None:
    _hub, cache, state = warm
    with seeded(cache, state) as ex:
        aside = tmp_path / "hub.aside"
        cache.rename(aside)  # a volume unmounted, a folder moved away
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 0, root="hub")
        aside.rename(cache)  # ... and back: the very same files
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 3, root="hub")
        ex.expect()  # no verdict at all: nothing was downloaded
        assert ex.get("modelcache_unexpected_redownloads_total", root="hub", repo="org/tts") == 0


def test_a_repo_fetched_again_while_the_exporter_was_down_is_a_redownload(warm: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = warm
    with seeded(cache, state):
        pass
    shutil.rmtree(cache / "models--org--tts")
    run_download(hub, repo_id="org/tts", cache_dir=str(cache))  # inodes freed a moment ago: likely the same
    with Sidecar(cache, state) as ex:
        ex.settle()
        ex.expect(redownload=3)


def test_models_remembered_in_a_root_of_unknown_layout_are_found_gone(warm: tuple[FakeHub, Path, Path]) -> None:
    """A ledger written before layouts were remembered (no layouts.json) meets its root emptied while the
    exporter was down: the root's layout is unknown, and what the ledger knew there is gone — a wipe."""
    _hub, cache, state = warm
    with seeded(cache, state):
        pass
    (state / "layouts.json").unlink()
    shutil.rmtree(cache)
    cache.mkdir()
    with Sidecar(cache, state) as ex:
        ex.settle()
        ex.wait("modelcache_cache_wipes_total", lambda v: v == 1, root="hub")
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 0, root="hub")
