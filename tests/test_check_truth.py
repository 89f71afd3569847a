"""`modelcache-exporter check` tells the truth about what it could see (issue 13).

Each test runs `check` as a real process on real folders (the fixture hub cache, or downloads by the real
huggingface_hub client from the fake Hub) and asserts its exit status and its words. Permission cases drop
root's DAC override (setpriv), so that permission bits apply as to an unprivileged sidecar.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cachefixture
import pytest
from fakehub import FakeHub, run_download, start_download
from helpers import REPO_ROOT, wait_for

UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
TTS = {"config.json": b'{"tts": 1}\n', "model.safetensors": b"\x01" * 6000}


def check(*args: str, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    """`python -m modelcache_exporter check ARGS` (as the README runs it), its output captured."""
    cmd = [sys.executable, "-m", "modelcache_exporter", "check", *args]
    if unprivileged and os.geteuid() == 0:
        cmd = [*UNPRIVILEGED, *cmd]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env=env)


@pytest.fixture
def healthy(hub: FakeHub, tmp_path: Path) -> Path:
    """A hub cache holding one model downloaded by the real client."""
    hub.add_repo("org/tts", TTS)
    run_download(hub, repo_id="org/tts", cache_dir=str(tmp_path / "hub"))
    return tmp_path / "hub"


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """Restores the permissions a test took away (for the cleanup of tmp_path)."""
    yield tmp_path
    for dirpath, dirs, _files in os.walk(tmp_path):
        for d in dirs:
            os.chmod(os.path.join(dirpath, d), 0o755)


def test_healthy_cache_is_ok_with_plurals_and_main_marked(healthy: Path, hub: FakeHub, tmp_path: Path) -> None:
    out = check("--path.cache", str(healthy), "--path.state", str(tmp_path / "s"))
    assert out.returncode == 0, out.stdout + out.stderr
    head = hub.head("org/tts")
    assert "  1 model, 5.87 KiB" in out.stdout and "2 files" in out.stdout
    assert f"{head[:8]} (main)" in out.stdout
    assert "1 models" not in out.stdout and "!" not in out.stdout and out.stdout.endswith("RESULT: OK\n")


def test_a_mistyped_root_fails_naming_root_and_reason(healthy: Path, tmp_path: Path) -> None:
    typo = tmp_path / "hbu"
    out = check("--path.cache", str(typo), "--path.state", str(tmp_path / "s"))
    assert out.returncode == 1
    assert f"ROOT hbu  {typo}" in out.stdout and "! DOES NOT EXIST: nothing here was checked" in out.stdout
    assert "typo in --path.cache" in out.stdout and "RESULT: OK" not in out.stdout
    assert out.stdout.endswith(f"RESULT: FAIL - root hbu ({typo}) does not exist\n")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    out = check("--path.cache", str(tmp_path / "dangling"), "--path.state", str(tmp_path / "s"))
    assert out.returncode == 1 and f"DOES NOT EXIST (a link to {tmp_path / 'gone'}, which" in out.stdout


def test_a_file_as_root_fails(tmp_path: Path) -> None:
    (tmp_path / "hub").write_bytes(b"not a cache\n")
    out = check("--path.cache", str(tmp_path / "hub"), "--path.state", str(tmp_path / "s"), "--format", "json")
    assert out.returncode == 1
    (root,) = json.loads(out.stdout)["roots"]
    assert (root["access"], root["reason"], root["models"]) == ("not_a_folder", "is not a folder (a regular file)", [])
    text = check("--path.cache", str(tmp_path / "hub"), "--path.state", str(tmp_path / "s")).stdout
    assert "! NOT A FOLDER (a regular file): nothing here was checked" in text and "RESULT: FAIL - root hub" in text


def test_an_unreadable_root_fails_and_is_not_called_empty(healthy: Path, tmp_path: Path, locked: Path) -> None:
    healthy.chmod(0o000)
    out = check("--path.cache", str(healthy), "--path.state", str(tmp_path / "s"), unprivileged=True)
    assert out.returncode == 1, out.stdout
    assert "! CANNOT BE READ (Permission denied, as user root, uid 0): nothing here was checked" in out.stdout
    assert "do not download again" in out.stdout
    assert "0 models" not in out.stdout and "(plain)" not in out.stdout
    assert f"RESULT: FAIL - root hub ({healthy}) cannot be read (Permission denied" in out.stdout
    healthy.chmod(0o600)  # listable but not searchable (no x bit): still cannot be read
    out = check("--path.cache", str(healthy), "--path.state", str(tmp_path / "s"), unprivileged=True)
    assert out.returncode == 1 and "CANNOT BE READ" in out.stdout


def test_an_unreadable_repo_is_cannot_see_not_missing(healthy: Path, tmp_path: Path, locked: Path) -> None:
    conf = tmp_path / "c.yml"
    conf.write_text(f"roots: [{{path: {healthy}, name: hub, layout: hf-hub}}]\nrequired:\n  - {{hub: org/tts}}\n")
    (healthy / "models--org--tts").chmod(0o000)
    out = check("--config.file", str(conf), "--path.state", str(tmp_path / "s"), unprivileged=True)
    assert out.returncode == 1, out.stdout
    assert "org/tts: CANNOT SEE 3 paths (permission denied: models--org--tts/blobs" in out.stdout
    assert "org/tts                                  CANNOT SEE" in out.stdout
    assert "fix the permissions; do not download it again" in out.stdout and "refs/main" not in out.stdout
    assert "required model org/tts cannot be seen" in out.stdout


def test_a_required_model_missing_says_where_it_looked(tmp_path: Path) -> None:
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    out = check(
        "--path.cache",
        str(ck),
        "--path.cache",
        str(tmp_path / "hub"),
        "--path.state",
        str(tmp_path / "s"),
        "--collector.required.profile",
        "indextts2",
    )
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("  IndexTeam/IndexTTS-2"))
    assert "MISSING  not found: the next start downloads it" in lines[i]
    assert (
        lines[i + 1] == f"      looked in {ck} for bpe.model, gpt.pth, config.yaml, s2mel.pth, "
        "wav2vec2bert_stats.pt: not there"
    )
    assert f"      looked in {ck / 'checkpoints'} for bpe.model" in lines[i + 2]
    assert f"      looked in {tmp_path / 'hub'}: root does not exist" in lines
    doc = json.loads(
        check(
            "--path.cache",
            str(ck),
            "--path.state",
            str(tmp_path / "s"),
            "--format",
            "json",
            "--collector.required.profile",
            "indextts2",
        ).stdout
    )
    main = next(r for r in doc["required"] if r["model"] == "IndexTeam/IndexTTS-2")
    assert main["state"] == "missing" and [p["path"] for p in main["looked_in"]] == [str(ck), str(ck / "checkpoints")]


def test_the_same_root_twice_is_checked_once(healthy: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(healthy)
    args = ["--path.cache", str(healthy), "--path.cache", f"{healthy}/", "--path.cache", str(tmp_path / "link")]
    out = check(*args, "--path.state", str(tmp_path / "s"))
    assert out.returncode == 0, out.stdout
    assert out.stdout.count("ROOT ") == 1 and "hub-2" not in out.stdout
    assert out.stdout.count(f"NOTE: root {healthy} is given twice") == 2  # two repeats, one line each
    assert f"NOTE: root {healthy} is given twice ({tmp_path / 'link'} is {healthy}): checked once, as hub" in out.stdout
    doc = json.loads(check(*args, "--path.state", str(tmp_path / "s"), "--format", "json").stdout)
    assert [r["name"] for r in doc["roots"]] == ["hub"] and len(doc["notes"]) == 2


def test_problems_name_the_repo_and_the_file(tmp_path: Path) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    out = check("--path.cache", str(cache), "--path.state", str(tmp_path / "s"))
    assert out.returncode == 0, out.stdout  # damage is reported; no required model is concerned
    problems = [line for line in out.stdout.splitlines() if line.startswith("  ! ")]
    assert problems == [
        "  ! 1 folder that is not a repo: not-a-repo: huggingface_hub ignores it (repos are models--org--name)",
        "  ! org/broken: 1 broken link (model.bin in 11111111): its blob is gone, so that file is missing; "
        "the next load downloads it again",
        "  ! org/broken: 1 dangling ref (refs/stale -> 33333333): it names a commit that has no snapshot; "
        "loading that ref downloads it again",
    ]
    assert "11111111, 22222222 (main)" in out.stdout and "1 file " in out.stdout
    (partial,) = [line for line in out.stdout.splitlines() if line.startswith("  ~ ")]
    assert partial.startswith(
        "  ~ org/alpha: a file not named yet (blob aaaaaaaa, named when it completes): "
        "download interrupted (no process holds its lock)"
    )
    assert "a" * 64 not in out.stdout  # no blob path


def test_a_local_dir_file_without_metadata_is_named(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("IndexTeam/IndexTTS-2", {"gpt.pth": b"\x01" * 5000})
    ck = tmp_path / "checkpoints"
    run_download(hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(ck))
    (ck / "user-added.txt").write_bytes(b"hello")
    out = check("--path.cache", str(ck), "--path.state", str(tmp_path / "s"))
    assert (
        "  ! checkpoints: 1 file without download metadata, 5 B: user-added.txt (5 B): not fetched by "
        "huggingface_hub here" in out.stdout
    )
    assert "gpt.pth" not in out.stdout  # downloaded with metadata: not flagged


def _partial(top: Path, pattern: str) -> Path:
    return wait_for(lambda: next(top.glob(pattern), None), 20, what=f"a partial file {pattern}")


def test_downloads_in_progress_named_by_repo_and_file(hub: FakeHub, tmp_path: Path) -> None:
    """A local-dir download and a hub re-download of a lost blob, both by the real client, throttled."""
    hub.add_repo("org/tts", TTS)
    cache, ck = tmp_path / "hub", tmp_path / "ck"
    run_download(hub, repo_id="org/tts", cache_dir=str(cache))
    blob = Path(os.path.realpath(next(cache.glob("models--org--tts/snapshots/*/model.safetensors"))))
    blob.unlink()  # lost: its snapshot link dangles, and the next download fetches it again
    hub.throttle_bytes_per_second = 2000
    conf = tmp_path / "c.yml"
    conf.write_text(
        f"roots: [{{path: {cache}, name: hub}}, {{path: {ck}, name: ck, layout: hf-local-dir, "
        "model: org/tts}]\nrequired:\n  - {hub: org/tts}\n"
    )
    procs = [
        start_download(hub, repo_id="org/tts", cache_dir=str(cache), filename="model.safetensors"),
        start_download(hub, repo_id="org/tts", local_dir=str(ck), filename="model.safetensors"),
    ]
    try:
        _partial(cache, "models--org--tts/blobs/*.incomplete")
        _partial(ck, ".cache/huggingface/download/*.incomplete")
        out = check("--config.file", str(conf), "--path.state", str(tmp_path / "s"))
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert out.returncode == 1, out.stdout
    head = hub.head("org/tts")[:8]
    assert (
        f"  ~ org/tts: model.safetensors (revision {head}): being downloaded now (a process holds its lock)"
        in out.stdout
    )
    assert "  ~ org/tts: model.safetensors: being downloaded now (a process holds its lock)" in out.stdout
    assert "org/tts                                  DOWNLOADING" in out.stdout
    assert "RESULT: FAIL - required model org/tts still being downloaded" in out.stdout
    assert ".incomplete" not in out.stdout
    time.sleep(0.2)
    out = check("--config.file", str(conf), "--path.state", str(tmp_path / "s"))
    assert (
        "  ~ org/tts: model.safetensors: download interrupted (no process holds its lock), the next "
        "download fetches it again" in out.stdout
    )


def test_a_closed_pipe_ends_quietly_with_the_verdict(healthy: Path, tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "modelcache_exporter",
        "check",
        "--path.cache",
        str(healthy),
        "--path.state",
        str(tmp_path / "s"),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for missing in (False, True):
        args = cmd if not missing else [*cmd, "--path.cache", str(tmp_path / "nope")]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before a byte is written: every write fails with EPIPE
        assert proc.wait(60) == (1 if missing else 0)
        assert proc.stderr.read() == b""
    shell = f"set -o pipefail; {' '.join(cmd)} | head -1"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=60)
    assert (done.returncode, done.stderr) == (0, "") and done.stdout.startswith("modelcache-exporter check, ")


def test_check_help_describes_check_its_options_and_exit_codes() -> None:
    out = check("--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert text.startswith("usage: modelcache-exporter check [<flags>]")  # kingpin's form, as the exporter's
    assert "Look once at every cache root" in text and "Prometheus exporter for model caches" not in text
    assert "--format=text|json text for people, json for machines (the same report) (default: text)" in text
    assert "--fail-on-ephemeral also exit 1 when a root is on storage lost at restart" in text
    assert "exit status: 0 OK:" in text and " 1 not OK," in text and " 2 invalid configuration" in text
    assert "does not exist, is not a folder or cannot be read" in text
