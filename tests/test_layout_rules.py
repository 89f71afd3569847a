"""Layout detection on real folders, the precedence rule, and the layout memory file
(modelcache_exporter/index/memory.py)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from modelcache_exporter.index.decide import Choice, choose_layout
from modelcache_exporter.index.memory import LayoutMemory
from modelcache_exporter.scan import detect_layout
from modelcache_exporter.scan.store import STORE_LAYOUT_VERSION, STORE_MARKER


def make(top: Path, *entries: str) -> str:
    """Create `top` and the entries (a trailing / makes a folder)."""
    top.mkdir(parents=True, exist_ok=True)
    for e in entries:
        p = top / e
        if e.endswith("/"):
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"x")
    return str(top)


@pytest.mark.parametrize(
    ("entries", "layout"),
    [
        ((), "unknown"),  # an empty folder: a wiped cache, a fresh volume
        (("lost+found/", ".DS_Store", ".g.pt.Ab12Cd"), "unknown"),  # fresh ext4, hidden entries only
        ((".cache/",), "unknown"),  # .cache without huggingface/ inside says nothing yet
        ((".cache/huggingface/",), "hf-local-dir"),
        ((".locks/",), "hf-hub"),
        (("CACHEDIR.TAG",), "hf-hub"),
        (("models--IndexTeam--IndexTTS-2/",), "hf-hub"),
        (("datasets--org--data/", "notes.txt"), "hf-hub"),  # markers win over other visible entries
        (("._____temp/",), "modelscope"),
        (("lost+found/", "bigvgan/"), "plain"),
        (("gpt.pth",), "plain"),
    ],
)
def test_detection_of_one_folder(tmp_path: Path, entries: tuple[str, ...], layout: str) -> None:
    assert detect_layout(make(tmp_path / "root", *entries)) == layout


def test_missing_unreadable_and_nested_roots_are_not_decisive(tmp_path: Path) -> None:
    assert detect_layout(str(tmp_path / "nowhere")) == "unknown"
    assert detect_layout(make(tmp_path / "file-parent") + "/x") == "unknown"
    assert detect_layout(make(tmp_path / "outer", "hub/"), exclude=["hub"]) == "unknown"  # a nested root
    assert detect_layout(make(tmp_path / "modelscope", "models/")) == "modelscope"  # by its name, once not empty
    assert detect_layout(make(tmp_path / "empty" / "modelscope")) == "unknown"
    store = Path(make(tmp_path / "store", "blobs/"))
    assert detect_layout(str(store)) == "plain"  # a folder named blobs is nothing special ...
    (store / "blobs" / STORE_MARKER).write_text(STORE_LAYOUT_VERSION)
    assert detect_layout(str(store)) == "hf-hub"  # ... the marked shared Xet store is huggingface_hub's


def test_precedence_configured_then_decisive_content_then_remembered() -> None:
    assert choose_layout("plain", "hf-hub", "hf-hub") == Choice("plain", "configured")  # never replaced
    assert choose_layout("auto", None, "unknown") == Choice("unknown", "unknown")
    assert choose_layout("auto", "hf-hub", "unknown") == Choice("hf-hub", "detected")  # wiped: remembered
    assert choose_layout("auto", None, "hf-hub") == Choice("hf-hub", "detected")
    assert choose_layout("auto", "plain", "hf-hub") == Choice("hf-hub", "detected")  # re-purposed folder
    assert choose_layout("auto", "hf-hub", "plain") == Choice("plain", "detected")
    assert choose_layout("auto", "modelscope", "plain") == Choice("modelscope", "detected")  # marker is transient


def test_memory_is_written_atomically_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "state"
    state.mkdir()
    mem = LayoutMemory(str(state), roots=[str(tmp_path / "hub")])
    mem.remember("/models/hub", "hf-hub")
    assert json.loads((state / "layouts.json").read_text()) == {"/models/hub": "hf-hub"}
    assert LayoutMemory(str(state)).recall("/models/hub") == "hf-hub"

    def crash(src: str, dst: str) -> None:  # the rename never happens (killed, disk full...)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with caplog.at_level(logging.WARNING):
        mem.remember("/models/plain", "plain")
        mem.remember("/models/other", "plain")
    assert json.loads((state / "layouts.json").read_text()) == {"/models/hub": "hf-hub"}  # never half-written
    assert sorted(os.listdir(state)) == ["layouts.json"]  # the temporary file is gone too
    assert mem.recall("/models/plain") == "plain"  # kept in memory
    assert len([r for r in caplog.records if "in memory only" in r.getMessage()]) == 1  # logged once


@pytest.mark.parametrize("content", ["{not json", '["hf-hub"]', '{"/models/hub": "bogus"}', '{"/a": 3}'])
def test_a_corrupt_memory_file_is_ignored_with_a_log_line(tmp_path: Path, content: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "layouts.json").write_text(content)
    with caplog.at_level(logging.WARNING):
        mem = LayoutMemory(str(tmp_path))
    assert mem.recall("/models/hub") is None and mem.recall("/a") is None
    assert [r for r in caplog.records if "layout memory" in r.getMessage()]
    mem.remember("/models/hub", "hf-hub")  # and replaced by a good one at the next decision
    assert json.loads((tmp_path / "layouts.json").read_text()) == {"/models/hub": "hf-hub"}


def test_memory_is_never_written_inside_a_cache_root(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "cache"
    state = root / ".exporter"
    state.mkdir(parents=True)
    with caplog.at_level(logging.WARNING):
        mem = LayoutMemory(str(state), roots=[str(root)])
        mem.remember(str(root), "hf-hub")
    assert mem.recall(str(root)) == "hf-hub"
    assert os.listdir(state) == []
    assert [r for r in caplog.records if "inside a cache root" in r.getMessage()]
    unset = LayoutMemory("")
    unset.remember(str(root), "plain")
    assert unset.recall(str(root)) == "plain"
