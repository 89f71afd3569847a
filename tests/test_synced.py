"""Arrivals by real `rsync -a` (a golden hub cache made by the real client, copied to a watched host) count as
`synced`, never as `first` or `redownload`; a re-sync after a file was lost is `synced` again."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from fakehub import FakeHub, run_download
from test_ledger import FAST, Sidecar

from modelcache_exporter.ledger.classify import REASONS

RSYNC = "/usr/bin/rsync"
FILES = {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * 60_000, "tok/vocab.txt": b"a\nb\n"}


def _age(top: Path, seconds: float) -> None:
    """Make every file under `top` `seconds` old, as a golden copy verified last week is."""
    old = time.time() - seconds
    for dirpath, _dirs, files in os.walk(top):
        for f in files:
            os.utime(os.path.join(dirpath, f), (old, old), follow_symlinks=False)


def _verdicts(ex: Sidecar) -> dict[str, float]:
    return {r: ex.get("modelcache_downloads_total", root=ex.root, reason=r) or 0.0 for r in REASONS}


def test_rsync_arrivals_are_synced_not_downloads(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tts", FILES)
    golden, host = tmp_path / "golden", tmp_path / "hub"
    run_download(hub, repo_id="org/tts", cache_dir=str(golden))
    _age(golden, 3600)
    host.mkdir()
    with Sidecar(host, tmp_path / "state") as ex:
        ex.settle()
        subprocess.run([RSYNC, "-a", f"{golden}/", f"{host}/"], check=True)
        ex.wait("modelcache_downloads_total", lambda v: v == 3, root=ex.root, reason="synced")
        blob = next((host / "models--org--tts" / "blobs").iterdir())
        blob.unlink()  # one file lost on this host, then the host is synced again
        ex.wait("modelcache_model_files", lambda v: v == 2, root=ex.root, repo="org/tts", repo_type="model")
        subprocess.run([RSYNC, "-a", f"{golden}/", f"{host}/"], check=True)
        ex.wait("modelcache_downloads_total", lambda v: v == 4, root=ex.root, reason="synced")
        assert _verdicts(ex) == {"first": 0, "new_revision": 0, "redownload": 0, "synced": 4}


def test_a_fresh_download_is_still_first(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tts", FILES)
    with Sidecar(tmp_path / "hub", tmp_path / "state") as ex:
        ex.settle()
        run_download(hub, repo_id="org/tts", cache_dir=str(tmp_path / "hub"))
        ex.wait("modelcache_downloads_total", lambda v: v == 3, root=ex.root, reason="first")
        assert _verdicts(ex)["synced"] == 0


def test_a_copy_whose_rsync_temporary_file_was_seen_is_synced_even_with_a_new_mtime(tmp_path: Path) -> None:
    """`rsync -r` without `-t` gives the file a new mtime; the `.<name>.XXXXXX` it was written under, seen by
    the index while the throttled transfer ran, still tells a copy from a download."""
    golden, host = tmp_path / "golden" / "voices", tmp_path / "ckpt" / "voices"
    golden.mkdir(parents=True)
    (golden / "speaker.pt").write_bytes(os.urandom(1_500_000))
    host.parent.mkdir()
    with Sidecar(host.parent, tmp_path / "state", "--collector.cache.poll-interval", "100ms") as ex:
        ex.settle()
        proc = subprocess.Popen([RSYNC, "-r", "--bwlimit=500", f"{golden.parent}/", f"{host.parent}/"])
        temp = []
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            temp += [p.name for p in host.glob(".speaker.pt.*")] if host.exists() else []
            time.sleep(0.05)
        assert proc.wait(20) == 0 and temp, "rsync's temporary file was never there"
        ex.wait("modelcache_downloads_total", lambda v: v == 1, root=ex.root, reason="synced")
        assert time.time() - (host / "speaker.pt").stat().st_mtime < 60  # a new mtime: only the temp file tells
        assert _verdicts(ex) == {"first": 0, "new_revision": 0, "redownload": 0, "synced": 1}


__all__ = ["FAST"]


def test_the_age_of_an_arrival_is_its_mtime_against_its_birth_not_the_moment_it_was_seen() -> None:
    from modelcache_exporter.ledger.classify import SYNCED, copied_verdict

    now = 1_000_000.0
    # re-downloaded while the exporter was down for 10 minutes: born 600 s ago, written until 590 s ago
    assert copied_verdict("redownload", now - 590, now - 600, None, now) == "redownload"
    # rsync -a: born just now, keeping yesterday's mtime
    assert copied_verdict("first", now - 86400, now - 2, None, now) == SYNCED
    # no birth time on this filesystem (the stamp is the mtime): the moment it is seen stands in
    assert copied_verdict("first", now - 600, now - 600, None, now) == SYNCED
    assert copied_verdict("first", now - 10, now - 10, None, now) == "first"
    # a download the ledger saw being written (timed) is never synced
    assert copied_verdict("first", now - 86400, now - 2, 12.5, now) == "first"
