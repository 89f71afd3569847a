"""Roots with layout `auto`, empty or missing at first sight or wiped later: the exporter never takes them for
`plain`, decides on the first decisive content, remembers the decision across wipes and restarts (the state
directory's layouts.json) and says where each root's layout came from (`modelcache_root_info{layout_source}`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from fakehub import FakeHub, run_download
from helpers import REPO_ROOT, InProcess, Process, samples, wait_for

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
FAST = ["--collector.cache.poll-interval", "200ms", "--collector.cache.scan-workers", "0"]
REPO = "IndexTeam/IndexTTS-2"
FILES = {"config.yaml": b"a: 1\n", "gpt.pth": b"\x01" * 5000, "bpe.model": b"\x02" * 700}


def info(text: str, root: str) -> dict[str, str]:
    """The labels of the root's `modelcache_root_info` ({} when absent)."""
    for (name, labels), _v in samples(text).items():
        found = dict(labels)
        if name == "modelcache_root_info" and found.get("root") == root:
            return found
    return {}


def layout_of(text: str, root: str) -> tuple[str, str]:
    labels = info(text, root)
    return labels.get("layout", ""), labels.get("layout_source", "")


def repos(text: str, root: str) -> set[str]:
    """Every repo label of the root's model metrics."""
    return {dict(lb)["repo"] for (n, lb), _v in samples(text).items()
            if n == "modelcache_model_size_bytes" and dict(lb).get("root") == root}


def downloads(text: str, root: str, reason: str) -> float:
    return samples(text).get(("modelcache_downloads_total", frozenset({("root", root), ("reason", reason)})), 0.0)


def test_missing_then_empty_then_downloaded_into(hub: FakeHub, tmp_path: Path) -> None:
    """(a) Missing at start, created empty (unknown, indexed with no models), then the real client fills it."""
    root, state = tmp_path / "vol" / "hub", tmp_path / "state"
    with InProcess(["--path.cache", str(root), "--path.state", str(state), *QUIET, *FAST]) as ex:
        ex.wait("modelcache_index_ready", lambda v: v == 1, root="hub")
        assert ex.get("modelcache_root_present", root="hub") == 0
        assert layout_of(ex.text(), "hub") == ("unknown", "unknown")
        root.mkdir(parents=True)
        ex.wait("modelcache_root_present", lambda v: v == 1, timeout=3, root="hub")
        assert layout_of(ex.text(), "hub") == ("unknown", "unknown")  # never plain
        assert ex.get("modelcache_root_models", root="hub") == 0
        ex.wait("modelcache_index_mode", lambda v: v == 1, timeout=3, root="hub", mode="inotify")  # watched
        hub.add_repo(REPO, FILES)
        run_download(hub, repo_id=REPO, cache_dir=str(root))
        ex.wait("modelcache_model_files", lambda v: v == 3, timeout=3, root="hub", repo=REPO, repo_type="model")
        text = ex.text()
        assert layout_of(text, "hub") == ("hf-hub", "detected")
        assert repos(text, "hub") == {REPO}
        wait_for(lambda: downloads(ex.text(), "hub", "first") == 3, what="3 first downloads")  # counted
    assert json.loads((state / "layouts.json").read_text()) == {str(root): "hf-hub"}


def test_wiped_and_recreated_empty_stays_hub_and_the_refetch_is_a_redownload(hub: FakeHub, tmp_path: Path) -> None:
    """(b) The incident: `rm -rf X && mkdir X` under a running exporter, then the web UI downloads again."""
    root = tmp_path / "hub"
    hub.add_repo(REPO, FILES)
    run_download(hub, repo_id=REPO, cache_dir=str(root))
    args = ["--path.cache", str(root), "--path.state", str(tmp_path / "state"), *QUIET, *FAST]
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_ledger_artifacts", root="hub") == 3, what="3 recorded artifacts")
        assert layout_of(proc.metrics(), "hub") == ("hf-hub", "detected")
        shutil.rmtree(root)
        root.mkdir()
        seen: list[tuple[str, str]] = []

        def empty_again() -> bool:
            text = samples(proc.metrics())
            seen.append(layout_of(proc.metrics(), "hub"))
            wiped = text.get(("modelcache_cache_wipes_total", frozenset({("root", "hub")})))
            return wiped == 1 and text.get(("modelcache_root_models", frozenset({("root", "hub")}))) == 0

        wait_for(empty_again, what="the wipe seen and the root indexed again, empty")
        assert set(seen) == {("hf-hub", "detected")}  # never plain, never unknown: remembered
        run_download(hub, repo_id=REPO, cache_dir=str(root))
        wait_for(lambda: downloads(proc.metrics(), "hub", "redownload") == 3, what="3 re-downloads")
        text = proc.metrics()
        assert repos(text, "hub") == {REPO}  # a hub repo: no "models--..." or "CACHEDIR.TAG" plain models
        assert downloads(text, "hub", "first") == 0
        assert layout_of(text, "hub") == ("hf-hub", "detected")


def test_restart_on_an_empty_root_uses_the_remembered_layout(hub: FakeHub, tmp_path: Path) -> None:
    """(c) Stopped, the root replaced by an empty folder (a container recreated without its volume), restarted
    with the same state directory: hf-hub from memory; `check` reads the same memory."""
    root, state = tmp_path / "hub", tmp_path / "state"
    hub.add_repo(REPO, FILES)
    run_download(hub, repo_id=REPO, cache_dir=str(root))
    args = ["--path.cache", str(root), "--path.state", str(state), *QUIET, *FAST]
    with Process(args) as proc:
        wait_for(lambda: layout_of(proc.metrics(), "hub") == ("hf-hub", "detected"), what="hf-hub detected")
    shutil.rmtree(root)
    root.mkdir()
    (root / "lost+found").mkdir()  # a fresh ext4 volume
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hub") == 1, what="ready")
        text = proc.metrics()
        assert layout_of(text, "hub") == ("hf-hub", "detected")
        assert samples(text)[("modelcache_root_models", frozenset({("root", "hub")}))] == 0
        page = requests.get(proc.url + "/", timeout=5).text
        assert "<dt>layout</dt><dd>hf-hub (detected)</dd>" in page
    assert check_layout(root, state) == ("hf-hub", "detected")
    assert check_layout(root, tmp_path / "other-state") == ("unknown", "unknown")  # no memory: not plain


def check_layout(root: Path, state: Path) -> tuple[str, str]:
    """`modelcache-exporter check --format json`'s layout and layout source for the root."""
    cmd = [sys.executable, "-m", "modelcache_exporter", "check", "--format", "json", "--path.cache", str(root),
           "--path.state", str(state), *QUIET]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO_ROOT), timeout=60)
    (r,) = json.loads(out.stdout)["roots"]
    return r["layout"], r["layout_source"]


def test_lost_found_and_hidden_files_only_stay_unknown_until_a_visible_entry(tmp_path: Path) -> None:
    """(d) `lost+found`, `.DS_Store` and an rsync temporary file say nothing; the renamed file does (plain)."""
    root = tmp_path / "hf_cache"
    (root / "lost+found").mkdir(parents=True)
    (root / ".DS_Store").write_bytes(b"\0")
    with InProcess(["--path.cache", str(root), "--path.state", str(tmp_path / "s"), *QUIET, *FAST]) as ex:
        ex.wait("modelcache_index_ready", lambda v: v == 1, root="hf_cache")
        (root / ".g.pt.Ab12Cd").write_bytes(b"\x01" * 1000)  # rsync at work
        time.sleep(0.6)  # three poll intervals (and inotify events) to decide, which it must not
        assert layout_of(ex.text(), "hf_cache") == ("unknown", "unknown")
        assert ex.get("modelcache_root_models", root="hf_cache") == 0  # no "lost+found" model
        os.rename(root / ".g.pt.Ab12Cd", root / "g.pt")
        ex.wait("modelcache_root_size_bytes", lambda v: v == 1000, timeout=3, root="hf_cache")
        assert layout_of(ex.text(), "hf_cache") == ("plain", "detected")
        assert repos(ex.text(), "hf_cache") == {"g.pt"}
        wait_for(lambda: downloads(ex.text(), "hf_cache", "first") == 1, what="one first download")


def test_a_configured_layout_is_reported_configured_and_never_changed(tmp_path: Path) -> None:
    """(e) `layout: plain` on a folder holding hub markers stays plain, through reconciliations, and is not
    remembered (the memory holds detections only)."""
    root, state = tmp_path / "flat", tmp_path / "state"
    (root / "models--org--m").mkdir(parents=True)
    (root / "models--org--m" / "w.bin").write_bytes(b"\x01" * 10)
    config = tmp_path / "config.yml"
    config.write_text(f"roots:\n  - {{path: {root}, name: flat, layout: plain}}\n")
    args = ["--config.file", str(config), "--path.state", str(state), *QUIET, *FAST,
            "--collector.cache.reconcile-interval", "300ms"]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_scans_total", lambda v: (v or 0) >= 3, root="flat", **{"pass": "reconcile"})
        (root / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
        ex.wait("modelcache_root_models", lambda v: v == 2, timeout=3, root="flat")
        ex.wait("modelcache_index_scans_total", lambda v: (v or 0) >= 6, root="flat", **{"pass": "reconcile"})
        text = ex.text()
        assert layout_of(text, "flat") == ("plain", "configured")
        assert repos(text, "flat") == {"models--org--m", "CACHEDIR.TAG"}  # what was asked for: plain entries
    assert not (state / "layouts.json").exists()


class Recorder:
    """An index listener that keeps what it is told, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def model_changed(self, ref: Any, key: str, old: Any, new: Any, initial: bool) -> None:
        self.calls.append(("model", ref.layout, key, str(initial)))

    def root_event(self, ref: Any, event: str) -> None:
        self.calls.append((event, ref.layout))


def test_the_index_tells_its_listeners_about_a_root_of_unknown_layout(tmp_path: Path) -> None:
    """The contract the ledger relies on: `indexed` once with layout unknown, then the cold start."""
    from modelcache_exporter.config.roots import RootConfig
    from modelcache_exporter.index import CacheIndex, IndexSettings, LayoutMemory

    root = tmp_path / "cache"
    root.mkdir()
    rec = Recorder()
    index = CacheIndex((RootConfig("c", str(root)),), IndexSettings(poll=0.2, scan_workers=0), (rec,),
                       memory=LayoutMemory(str(tmp_path)))
    index.start()
    try:
        wait_for(lambda: rec.calls == [("indexed", "unknown")], what="indexed, layout unknown")
        (root / ".DS_Store").write_bytes(b"\0")
        time.sleep(0.5)
        assert rec.calls == [("indexed", "unknown")]  # once, whatever undecisive comes
        (root / "models--org--m" / "blobs").mkdir(parents=True)
        wait_for(lambda: ("indexed", "hf-hub") in rec.calls, what="indexed again, as hf-hub")
        assert rec.calls[:3] == [("indexed", "unknown"), ("model", "hf-hub", "models--org--m", "True"),
                                 ("indexed", "hf-hub")]  # (then the link pass may update the model)
        (state,) = index.states()
        assert (state.layout, state.layout_source, state.present, state.ready) == ("hf-hub", "detected", True, True)
    finally:
        index.stop()
