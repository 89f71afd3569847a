"""`modelcache-exporter check`: required models, storage verdicts, ledger history, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fakehub import FakeHub, run_download
from helpers import REPO_ROOT, InProcess

from modelcache_exporter.ledger.required import MAIN_FILES

W2V = {"preprocessor_config.json": b"{}\n", "config.json": b'{"w": 1}\n', "model.safetensors": b"\x01" * 9000}


def check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelcache_exporter", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
    )


def _config(tmp_path: Path, cache: Path, files: list[str]) -> Path:
    conf = tmp_path / "c.yml"
    conf.write_text(
        f"roots: [{{path: {cache}, name: hub, layout: hf-hub}}]\n"
        f"required:\n  - {{hub: facebook/w2v-bert-2.0, files: {json.dumps(files)}}}\n"
    )
    return conf


def test_required_model_complete_then_one_file_missing(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("facebook/w2v-bert-2.0", W2V)
    cache = tmp_path / "hub"
    run_download(hub, repo_id="facebook/w2v-bert-2.0", cache_dir=str(cache))
    conf = _config(tmp_path, cache, sorted(W2V))
    ok = check("--config.file", str(conf), "--path.state", str(tmp_path / "s"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "facebook/w2v-bert-2.0" in ok.stdout and "complete" in ok.stdout and "RESULT: OK" in ok.stdout
    blob = os.path.realpath(next(cache.glob("models--facebook--w2v-bert-2.0/snapshots/*/model.safetensors")))
    os.unlink(blob)  # a sync that missed one file: the link dangles
    bad = check("--config.file", str(conf), "--path.state", str(tmp_path / "s"), "--format", "json")
    assert bad.returncode == 1
    doc = json.loads(bad.stdout)
    (req,) = doc["required"]
    assert (req["present"], req["complete"], req["missing"]) == (True, False, ["model.safetensors"])
    assert doc["failures"] == ["required model facebook/w2v-bert-2.0 incomplete"]
    (problem,) = doc["roots"][0]["problems"]  # the repo and the file named, not a bare count
    assert problem.startswith("facebook/w2v-bert-2.0: 1 broken link (model.safetensors in ")


def _classic(hub: FakeHub, tmp_path: Path) -> Path:
    """Classic IndexTTS2: main model in checkpoints/, helpers in the HF hub cache."""
    repos = {
        "facebook/w2v-bert-2.0": W2V,
        "amphion/MaskGCT": {"semantic_codec/model.safetensors": b"\x02" * 500},
        "funasr/campplus": {"campplus_cn_common.bin": b"\x03" * 300},
        "nvidia/bigvgan_v2_22khz_80band_256x": {"config.json": b"{}\n", "bigvgan_generator.pt": b"\x04" * 700},
    }
    for repo, files in repos.items():
        hub.add_repo(repo, files)
        run_download(hub, repo_id=repo, cache_dir=str(tmp_path / "hub"))
    for f in MAIN_FILES:
        (tmp_path / "checkpoints").mkdir(exist_ok=True)
        (tmp_path / "checkpoints" / f).write_bytes(b"\x05" * 100)
    return tmp_path


def test_indextts2_profile_classic_layout(hub: FakeHub, tmp_path: Path) -> None:
    _classic(hub, tmp_path)
    args = [
        "--path.cache",
        str(tmp_path / "hub"),
        "--path.cache",
        str(tmp_path / "checkpoints"),
        "--collector.required.profile",
        "indextts2",
        "--path.state",
        str(tmp_path / "s"),
    ]
    out = check(*args, "--format", "json")
    assert out.returncode == 0, out.stdout
    where = {r["model"]: (r["root"], r["where"]) for r in json.loads(out.stdout)["required"]}
    assert where["IndexTeam/IndexTTS-2"] == ("checkpoints", ".")
    assert where["amphion/MaskGCT"] == ("hub", "models--amphion--MaskGCT")
    (tmp_path / "checkpoints" / "gpt.pth").write_bytes(b"")  # a truncated checkpoint
    out = check(*args, "--format", "json")
    assert out.returncode == 1
    main = next(r for r in json.loads(out.stdout)["required"] if r["model"] == "IndexTeam/IndexTTS-2")
    assert main["missing"] == ["gpt.pth"]


def test_indextts2_profile_head_layout(tmp_path: Path) -> None:
    """IndexTTS2 after #692: everything under checkpoints/, helpers flat in checkpoints/hf_cache/."""
    ck = tmp_path / "checkpoints"
    files = [
        *MAIN_FILES,
        "hf_cache/w2v-bert-2.0/config.json",
        "hf_cache/w2v-bert-2.0/model.safetensors",
        "hf_cache/semantic_codec_model.safetensors",
        "hf_cache/campplus_cn_common.bin",
        "hf_cache/bigvgan/config.json",
        "hf_cache/bigvgan/bigvgan_generator.pt",
    ]
    for f in files:
        (ck / f).parent.mkdir(parents=True, exist_ok=True)
        (ck / f).write_bytes(b"\x01" * 10)
    args = ["--path.cache", str(ck), "--collector.required.profile", "indextts2", "--path.state", str(tmp_path / "s")]
    out = check(*args)
    assert out.returncode == 0, out.stdout
    os.unlink(ck / "hf_cache" / "campplus_cn_common.bin")
    out = check(*args)
    assert out.returncode == 1 and "funasr/campplus" in out.stdout and "MISSING" in out.stdout


def test_fail_on_ephemeral_storage(tmp_path: Path) -> None:
    """A cache in the container's writable layer: the next restart loses it."""
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "mountinfo").write_text("22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l\n")
    (tmp_path / "hub").mkdir()
    args = ["--path.cache", str(tmp_path / "hub"), "--path.procfs", str(proc), "--path.state", str(tmp_path / "s")]
    assert check(*args).returncode == 0
    out = check(*args, "--fail-on-ephemeral")
    assert out.returncode == 1 and "OVERLAY" in out.stdout and "lost when the container" in out.stdout


def test_ledger_history_is_reported(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tts", {"w.bin": b"\x01" * 4000})
    cache, state = tmp_path / "hub", tmp_path / "state"
    args = [
        "--path.cache",
        str(cache),
        "--path.state",
        str(state),
        "--collector.cache.scan-workers",
        "0",
        "--no-collector.filesystem",
        "--no-collector.diskstats",
        "--no-collector.probe",
    ]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_ready", lambda v: v == 1, root="hub")
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.wait("modelcache_downloads_total", lambda v: v == 1, root="hub", reason="first")
        import shutil

        shutil.rmtree(cache)
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        ex.wait("modelcache_downloads_total", lambda v: v == 1, root="hub", reason="redownload")
    out = check("--path.cache", str(cache), "--path.state", str(state), "--format", "json")
    led = json.loads(out.stdout)["ledger"]
    assert led["downloads"] == {"first": 1, "redownload": 1}
    assert [(d["repo"], d["bytes"]) for d in led["redownloads"]] == [("org/tts", 4000)]
    assert "re-download" in check("--path.cache", str(cache), "--path.state", str(state)).stdout


def test_required_models_as_metrics(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("facebook/w2v-bert-2.0", W2V)
    cache = tmp_path / "hub"
    conf = _config(tmp_path, cache, sorted(W2V))
    args = [
        "--config.file",
        str(conf),
        "--path.state",
        str(tmp_path / "s"),
        "--collector.required.interval",
        "200ms",
        "--collector.cache.scan-workers",
        "0",
        "--no-collector.diskstats",
        "--no-collector.probe",
    ]
    with InProcess(args) as ex:
        ex.wait("modelcache_required_model_present", lambda v: v == 0, root="", model="facebook/w2v-bert-2.0")
        run_download(hub, repo_id="facebook/w2v-bert-2.0", cache_dir=str(cache))
        ex.wait("modelcache_required_model_complete", lambda v: v == 1, root="hub", model="facebook/w2v-bert-2.0")
        assert ex.get("modelcache_required_model_missing_files", root="hub", model="facebook/w2v-bert-2.0") == 0
