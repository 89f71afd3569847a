"""Local-dir downloads (real client), plain trees (IndexTTS2's flat hf_cache), ModelScope trees."""

from __future__ import annotations

import os
from pathlib import Path

from fakehub import FakeHub, run_download

from modelcache_exporter.config.roots import RootConfig, nested_excludes
from modelcache_exporter.layouts import scan_one, scan_root
from modelcache_exporter.scan import detect_layout, localdir, plain

FILES = {"gpt.pth": b"\x01" * 5000, "config.yaml": b"a: 1\n", "qwen0.6bemo4-merge/model.safetensors": b"\x02" * 7000}


def test_local_dir_download_by_the_real_client(hub: FakeHub, tmp_path: Path) -> None:
    commit = hub.add_repo("IndexTeam/IndexTTS-2", FILES)
    ckpt = tmp_path / "checkpoints"
    run_download(hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(ckpt))
    assert detect_layout(str(ckpt)) == "hf-local-dir"
    (m,) = localdir.scan_local_dir(str(ckpt), "IndexTeam/IndexTTS-2").models
    assert (m.repo_id, m.files, m.size_bytes) == ("IndexTeam/IndexTTS-2", 3, 12005)
    assert [(r.commit, r.files, r.size_bytes) for r in m.revisions] == [(commit, 3, 12005)]
    assert m.unreferenced_files == 0 and not m.incomplete
    (ckpt / "user-added.txt").write_bytes(b"hello")  # not from the Hub: counted, flagged as untracked
    (ckpt / ".cache/huggingface/download/x.bin.incomplete").write_bytes(b"\0" * 10)
    (m,) = localdir.scan_local_dir(str(ckpt), "IndexTeam/IndexTTS-2").models
    assert (m.files, m.unreferenced_files, [f.size_bytes for f in m.incomplete]) == (4, 1, [10])
    assert m.unreferenced_bytes == 5  # the untracked file's bytes, not 0


def test_metadata_parsing() -> None:
    assert localdir.parse_metadata("abc\n123\n1700000000.5\n") == ("abc", "123")
    assert localdir.parse_metadata("abc\n123\nnot-a-time\n") is None
    assert localdir.parse_metadata("") is None


def _flat_hf_cache(top: Path) -> Path:
    """IndexTTS2 HEAD's `checkpoints/hf_cache/` (not a hub cache: one model per top-level entry)."""
    for rel, size in {
        "w2v-bert-2.0/model.safetensors": 3000,
        "w2v-bert-2.0/config.json": 10,
        "bigvgan/bigvgan_generator.pt": 4000,
        "bigvgan/config.json": 20,
        "semantic_codec_model.safetensors": 1770,
        "campplus_cn_common.bin": 280,
        "bigvgan/.bigvgan_generator.pt.AbC123": 99,
    }.items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(b"\0" * size)
    return top


def test_plain_tree_one_model_per_entry_and_rsync_temp_files(tmp_path: Path) -> None:
    top = _flat_hf_cache(tmp_path / "hf_cache")
    assert detect_layout(str(top)) == "plain"
    scan = plain.scan_plain(str(top))
    got = {m.repo_id: (m.files, m.size_bytes, len(m.incomplete)) for m in scan.models}
    assert got == {
        "bigvgan": (2, 4020, 1),
        "campplus_cn_common.bin": (1, 280, 0),
        "semantic_codec_model.safetensors": (1, 1770, 0),
        "w2v-bert-2.0": (2, 3010, 0),
    }
    os.symlink("/etc", top / "outside")  # a link out of the root is not followed
    assert scan_one(str(top), "plain", "", "outside").files == 0  # type: ignore[union-attr]


def test_modelscope_tree_per_org_and_name(tmp_path: Path) -> None:
    top = tmp_path / "modelscope" / "hub"
    for rel in (
        "models/iic/speech_campplus_sv_zh-cn_16k-common/campplus_cn_common.bin",
        "models/AI-ModelScope/w2v-bert-2.0/model.safetensors",
        "models/iic/speech_campplus_sv_zh-cn_16k-common/.msc",
    ):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(b"\0" * 100)
    (top / "._____temp" / "iic" / "big").mkdir(parents=True)
    (top / "._____temp" / "iic" / "big" / "weights.bin").write_bytes(b"\0" * 50)
    scan = scan_root(str(top), "modelscope", "")
    assert sorted(m.repo_id for m in scan.models) == [
        "AI-ModelScope/w2v-bert-2.0",
        "iic/speech_campplus_sv_zh-cn_16k-common",
    ]
    assert [f.size_bytes for f in scan.extras.incomplete] == [50]


def test_nested_roots_are_not_counted_twice(tmp_path: Path) -> None:
    ckpt = tmp_path / "checkpoints"
    (ckpt / ".cache" / "huggingface" / "download").mkdir(parents=True)
    (ckpt / "gpt.pth").write_bytes(b"\0" * 100)
    _flat_hf_cache(ckpt / "hf_cache")
    outer = RootConfig("checkpoints", str(ckpt), "hf-local-dir")
    inner = RootConfig("hf_cache", str(ckpt / "hf_cache"), "plain")
    assert nested_excludes(outer, [outer, inner]) == ("hf_cache",)
    assert nested_excludes(inner, [outer, inner]) == ()
    (m,) = scan_root(str(ckpt), "hf-local-dir", "IndexTeam/IndexTTS-2", exclude=("hf_cache",)).models
    assert (m.files, m.size_bytes) == (1, 100)
