"""Download verdicts with the real client: first, warm, wipe + re-download, new revision, resume,
restarts of the exporter, local-dir and plain trees (rsync-style transfers)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakehub import FakeHub, run_download, start_download
from helpers import InProcess

FILES = {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * 60_000, "tok/vocab.txt": b"a\nb\n"}
FAST = [
    "--collector.cache.poll-interval",
    "200ms",
    "--collector.cache.scan-workers",
    "0",
    "--no-collector.filesystem",
    "--no-collector.diskstats",
    "--no-collector.probe",
]
REASONS = ("first", "new_revision", "redownload")


class Sidecar(InProcess):
    """The exporter on one cache root with a persistent state directory."""

    def __init__(self, root: Path, state: Path, *extra: str) -> None:
        super().__init__(["--path.cache", str(root), "--path.state", str(state), *FAST, *extra])
        self.root = root.name

    def verdicts(self) -> dict[str, float]:
        return {r: self.get("modelcache_downloads_total", root=self.root, reason=r) or 0.0 for r in REASONS}

    def settle(self) -> None:
        self.wait("modelcache_index_ready", lambda v: v == 1, root=self.root)
        self.wait("modelcache_ledger_persistent", lambda v: v is not None)

    def expect(self, timeout: float = 5.0, **want: float) -> None:
        expected = {r: float(want.get(r, 0)) for r in REASONS}
        from helpers import wait_for

        wait_for(lambda: self.verdicts() == expected, timeout, what=f"verdicts {expected}, have {self.verdicts()}")


@pytest.fixture
def setup(hub: FakeHub, tmp_path: Path) -> Iterator[tuple[FakeHub, Path, Path]]:
    hub.add_repo("org/tts", FILES)
    yield hub, tmp_path / "hub", tmp_path / "state"


def test_cold_warm_wipe_redownload(setup: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = setup
    with Sidecar(cache, state) as ex:  # a fresh container: no cache yet
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))  # cold start: 3 files fetched
        ex.expect(first=3)
        assert ex.get("modelcache_ledger_artifacts", root="hub") == 3
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))  # warm start: nothing fetched
        ex.expect(first=3)
        shutil.rmtree(cache)  # the container restarted without its volume
        ex.wait("modelcache_cache_wipes_total", lambda v: v == 1, root="hub")
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))  # the 30-minute first start again
        ex.expect(first=3, redownload=3)
        assert ex.get("modelcache_unexpected_redownloads_total", root="hub", repo="org/tts") == 3
        assert ex.get("modelcache_cache_wipes_total", root="hub") == 1
        assert ex.get("modelcache_download_bytes_total", root="hub", reason="redownload") == sum(
            map(len, FILES.values())
        )


def test_verdicts_survive_an_exporter_restart(setup: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = setup
    with Sidecar(cache, state) as ex:
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(first=3)
    with Sidecar(cache, state) as ex:  # restarted: counters start at 0, the ledger remembers
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect()  # warm start after a restart: nothing counted
        shutil.rmtree(cache)
        ex.wait("modelcache_cache_wipes_total", lambda v: v == 1, root="hub")
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(redownload=3)


def test_first_run_on_a_populated_cache_seeds_without_counting(setup: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = setup
    run_download(hub, repo_id="org/tts", cache_dir=str(cache))  # downloaded before the sidecar existed
    with Sidecar(cache, state) as ex:
        ex.settle()
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 3, root="hub")
        ex.expect()


def test_downloads_while_the_exporter_was_down_are_counted_at_restart(setup: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = setup
    with Sidecar(cache, state) as ex:
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(first=3)
    # Lost while we were down. Only a new inode can tell the re-fetched blobs from the old ones, and ext4
    # hands a deleted file's inode number to the next new file: the old volume is kept aside (as a detached
    # volume is), so the numbers are not reused. (A reused number hides a re-download made while down.)
    shutil.move(cache, cache.with_name("lost-volume"))
    run_download(hub, repo_id="org/tts", cache_dir=str(cache))  # wiped and re-fetched while we were down
    with Sidecar(cache, state) as ex:
        ex.settle()
        ex.expect(redownload=3)


def test_new_revision_counts_only_changed_files(setup: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = setup
    with Sidecar(cache, state) as ex:
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(first=3)
        hub.reset_stats()
        hub.publish("org/tts", {"model.safetensors": b"\x02" * 70_000})
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(first=3, new_revision=1)
        assert dict(hub.downloads) == {"model.safetensors": 1}  # unchanged files were not fetched


def test_interrupted_download_that_resumes_is_one_download(setup: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = setup
    hub.add_repo("org/big", {"weights.bin": b"\x07" * 300_000})
    hub.fail_after_bytes["weights.bin"] = 100_000
    with Sidecar(cache, state) as ex:
        ex.settle()
        run_download(hub, repo_id="org/big", cache_dir=str(cache))
        ex.expect(first=1)
        # exported at 0 from the first sight of the repo, so that a first re-download is an increase
        assert ex.get("modelcache_unexpected_redownloads_total", root="hub", repo="org/big") == 0


def test_partial_download_progress_stall_and_lock(setup: tuple[FakeHub, Path, Path]) -> None:
    hub, cache, state = setup
    hub.add_repo("org/slow", {"weights.bin": b"\x03" * 400_000})
    hub.throttle_bytes_per_second = 100_000
    with Sidecar(cache, state, "--collector.ledger.stall-after", "1s") as ex:
        ex.settle()
        proc = start_download(hub, repo_id="org/slow", cache_dir=str(cache))
        ex.wait("modelcache_downloads_in_progress", lambda v: v == 1, root="hub")
        ex.wait("modelcache_download_locks_held", lambda v: v == 1, root="hub")
        proc.kill()  # the web UI died mid-download: its partial file stays and stops growing
        proc.wait()
        ex.wait("modelcache_downloads_stalled", lambda v: v == 1, root="hub")
        ex.wait("modelcache_download_locks_held", lambda v: v == 0, root="hub")
        assert (ex.get("modelcache_downloads_started_total", root="hub") or 0) >= 1
        hub.throttle_bytes_per_second = None
        run_download(hub, repo_id="org/slow", cache_dir=str(cache))
        ex.expect(first=1)
        assert ex.get("modelcache_download_duration_seconds_count", root="hub") == 1  # its start was seen
        assert (ex.get("modelcache_download_duration_seconds_sum", root="hub") or 0) > 1.0


def test_local_dir_verdicts(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("IndexTeam/IndexTTS-2", {"gpt.pth": b"\x01" * 5000, "config.yaml": b"a: 1\n"})
    ckpt, state = tmp_path / "checkpoints", tmp_path / "state"
    ckpt.mkdir()
    with Sidecar(ckpt, state) as ex:
        ex.wait("modelcache_index_ready", lambda v: v == 1, root="checkpoints")
        run_download(hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(ckpt))
        ex.expect(first=2)
        hub.publish("IndexTeam/IndexTTS-2", {"gpt.pth": b"\x02" * 6000})
        run_download(hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(ckpt))
        ex.expect(first=2, new_revision=1)
        for p in list(ckpt.iterdir()):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        run_download(hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(ckpt))
        ex.expect(first=2, new_revision=1, redownload=2)


def _rsync(src: bytes, dest: Path) -> None:
    """What rsync does: a hidden temporary file next to the target, renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.Xy12Zq")
    tmp.write_bytes(src)
    os.rename(tmp, dest)


def test_plain_tree_synced_by_rsync(tmp_path: Path) -> None:
    tree, state = tmp_path / "hf_cache", tmp_path / "state"
    tree.mkdir()
    with Sidecar(tree, state, "--config.file", str(_plain_config(tmp_path, tree))) as ex:
        ex.wait("modelcache_index_ready", lambda v: v == 1, root="hf_cache")
        _rsync(b"\x01" * 1000, tree / "bigvgan" / "bigvgan_generator.pt")
        _rsync(b"\x02" * 500, tree / "campplus_cn_common.bin")
        ex.expect(first=2)
        _rsync(b"\x03" * 1200, tree / "bigvgan" / "bigvgan_generator.pt")  # same path, new content: an update
        ex.expect(first=2, new_revision=1)
        (tree / "campplus_cn_common.bin").unlink()  # lost ...
        ex.wait("modelcache_artifact_removals_total", lambda v: v == 2, root="hf_cache")  # (+ the old bigvgan)
        _rsync(b"\x02" * 500, tree / "campplus_cn_common.bin")  # ... and synced again
        ex.expect(first=2, new_revision=1, redownload=1)
        _rsync(b"\x02" * 500, tree / "campplus_cn_common.bin")  # synced over itself: transferred once more
        ex.expect(first=2, new_revision=1, redownload=2)


def test_publishing_into_the_shared_xet_store_is_not_a_download(setup: tuple[FakeHub, Path, Path]) -> None:
    """huggingface_hub 2.x moves a fresh Xet blob into the cache-wide store and leaves a symlink."""
    from huggingface_hub.utils import _shared_blobs

    hub, cache, state = setup
    with Sidecar(cache, state) as ex:
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.expect(first=3)
        blob = os.path.realpath(next(cache.glob("models--org--tts/snapshots/*/model.safetensors")))
        assert _shared_blobs.publish_blob_to_shared_store(
            blob_path=blob, xet_hash="d" * 64, cache_dir=cache, expected_size=os.path.getsize(blob)
        )
        ex.wait("modelcache_root_shared_store_files", lambda v: v == 1, timeout=15, root="hub")
        ex.expect(first=3)
        assert ex.get("modelcache_artifact_removals_total", root="hub") == 0


def _plain_config(tmp_path: Path, tree: Path) -> Path:
    conf = tmp_path / "plain.yml"
    conf.write_text(f"roots:\n  - {{path: {tree}, name: hf_cache, layout: plain}}\n")
    return conf
