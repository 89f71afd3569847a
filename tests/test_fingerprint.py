"""The content fingerprint: equal for copies made by real `rsync -a`, different when a file differs or is missing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from modelcache_exporter.scan.localdir import scan_local_dir
from modelcache_exporter.scan.plain import scan_plain

RSYNC = "/usr/bin/rsync"


def _tree(root: Path) -> None:
    (root / "tts" / "sub").mkdir(parents=True)
    (root / "tts" / "gpt.pth").write_bytes(b"g" * 5000)
    (root / "tts" / "sub" / "config.yaml").write_text("a: 1\n")
    (root / "other.bin").write_bytes(b"o" * 10)


def _prints(root: Path) -> dict[str, str]:
    return {m.repo_id: m.fingerprint for m in scan_plain(str(root)).models}


def test_rsync_copies_agree_whatever_their_path(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    _tree(golden)
    for host in ("a", "deeper/b"):
        (tmp_path / host).mkdir(parents=True)
        subprocess.run([RSYNC, "-a", f"{golden}/", str(tmp_path / host)], check=True)
    want = _prints(golden)
    assert all(len(v) == 16 for v in want.values())
    assert _prints(tmp_path / "a") == want == _prints(tmp_path / "deeper/b")
    assert os.stat(golden / "tts/gpt.pth").st_ino != os.stat(tmp_path / "a/tts/gpt.pth").st_ino


def test_a_missing_or_changed_file_changes_the_fingerprint(tmp_path: Path) -> None:
    golden, host = tmp_path / "golden", tmp_path / "host"
    _tree(golden)
    host.mkdir()
    subprocess.run([RSYNC, "-a", f"{golden}/", str(host)], check=True)
    (host / "tts/sub/config.yaml").unlink()
    assert _prints(host)["tts"] != _prints(golden)["tts"]
    assert _prints(host)["other.bin"] == _prints(golden)["other.bin"]
    subprocess.run([RSYNC, "-a", f"{golden}/", str(host)], check=True)
    assert _prints(host) == _prints(golden)
    os.utime(host / "other.bin", (1, 1))  # same size, other mtime: a different copy
    assert _prints(host)["other.bin"] != _prints(golden)["other.bin"]


def test_a_partial_rsync_temp_file_is_not_content(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    _tree(golden)
    before = _prints(golden)
    (golden / "tts" / ".gpt2.pth.Ab12Cd").write_bytes(b"x" * 100)
    assert _prints(golden) == before


def test_local_dir_uses_the_etag(tmp_path: Path) -> None:
    meta = tmp_path / ".cache" / "huggingface" / "download"
    meta.mkdir(parents=True)
    (tmp_path / "w.bin").write_bytes(b"w" * 8)
    (meta / "w.bin.metadata").write_text(f"{'c' * 40}\netag1\n1700000000.0\n")
    first = scan_local_dir(str(tmp_path), "org/m").models[0].fingerprint
    os.utime(tmp_path / "w.bin", (5, 5))  # the etag, not the mtime, names the content
    assert scan_local_dir(str(tmp_path), "org/m").models[0].fingerprint == first
    (meta / "w.bin.metadata").write_text(f"{'c' * 40}\netag2\n1700000000.0\n")
    assert scan_local_dir(str(tmp_path), "org/m").models[0].fingerprint != first


def test_check_shows_the_same_fingerprint_on_two_rsync_copies(tmp_path: Path) -> None:
    from test_check import check

    golden = tmp_path / "golden"
    _tree(golden)
    shown = []
    for host in ("h1", "h2"):
        (tmp_path / host).mkdir()
        subprocess.run([RSYNC, "-a", f"{golden}/", str(tmp_path / host)], check=True)
        conf = tmp_path / f"{host}.yml"
        conf.write_text(f"roots: [{{path: {tmp_path / host}, name: ckpt, layout: plain}}]\n")
        out = check(f"--config.file={conf}").stdout
        line = next(x for x in out.splitlines() if x.strip().startswith("tts "))
        shown.append(line.split()[-3] if "no revision" in line else line)
    want = _prints(golden)["tts"]
    assert shown == [want, want], out
