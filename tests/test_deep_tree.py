"""A folder chain deeper than PATH_MAX in a plain root (issue 17, row 9): it used to drop the whole root to
polling (inotify_add_watch failed with ENAMETOOLONG) while the ledger re-walked the chain every second
(a fifth of a core). Now it is one scan error of kind `name_too_long` with one log line, the root stays
on inotify for everything else, the ledger's retries back off, and the exporter stays idle."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from helpers import Process, value, wait_for

from modelcache_exporter.scan.tree import PATH_MAX, walk_tree

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
#: "d/" per level: PATH_MAX (4,096 bytes) is passed after ~2,040 levels, whatever the root's path.
DEPTH = 2_500


def make_chain(top: Path, depth: int) -> None:
    """`top/d/d/.../d`, `depth` levels, made through folder descriptors (the paths pass PATH_MAX)."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)


def remove_chain(top: Path) -> None:
    """Remove a chain made by `make_chain`, bottom up (shutil.rmtree, and so pytest's clean-up of old temporary
    folders, recurses once per level and fails on a chain this deep)."""
    here = os.getcwd()
    try:
        os.chdir(top)
        depth = 0
        while os.path.isdir("d"):
            os.chdir("d")
            depth += 1
        for _ in range(depth):
            os.chdir("..")
            os.rmdir("d")
    finally:
        os.chdir(here)


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[list[Path]]:
    """Chains to remove after the test."""
    made: list[Path] = []
    yield made
    for top in made:
        remove_chain(top)


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def test_walking_a_chain_past_path_max_is_one_error_and_cheap(tmp_path: Path, chains: list[Path]) -> None:
    make_chain(tmp_path / "chain", DEPTH)
    chains.append(tmp_path / "chain")
    deep = walk_tree(str(tmp_path / "chain"), "chain")
    assert [e.kind for e in deep.errors] == ["name_too_long"]
    assert len(os.fsencode(str(tmp_path / deep.errors[0].path))) >= PATH_MAX
    t0 = time.process_time()
    walk_tree(str(tmp_path / "chain"), "chain")
    assert time.process_time() - t0 < 0.1  # one lookup per level (was ~2,000 per level: ~0.2 s)


def test_a_chain_deeper_than_path_max_is_a_scan_error_and_the_root_stays_watched(
    tmp_path: Path, chains: list[Path]
) -> None:
    root = tmp_path / "models"
    (root / "normal").mkdir(parents=True)
    (root / "normal" / "w.bin").write_bytes(b"\x01" * 100)
    make_chain(root / "chain", DEPTH)
    chains.append(root / "chain")
    conf = tmp_path / "roots.yml"
    conf.write_text(f"roots:\n  - {{path: {root}, name: plain, layout: plain}}\n")
    args = ["--config.file", str(conf), "--path.state", str(tmp_path / "s"), *QUIET]
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_verified", root="plain") == 1, 15)
        text = proc.metrics()
        assert value(text, "modelcache_model_size_bytes", root="plain", repo="normal", repo_type="model") == 100
        assert value(text, "modelcache_index_mode", root="plain", mode="inotify") == 1
        assert value(text, "modelcache_index_fallbacks_total", root="plain") == 0
        assert value(text, "modelcache_root_scan_errors", root="plain", kind="name_too_long") == 1
        assert value(text, "modelcache_root_scan_errors", root="plain", kind="io_error") == 0

        (root / "normal" / "x.bin").write_bytes(b"\x02" * 50)  # seen through inotify, not a poll
        t0 = time.monotonic()
        wait_for(lambda: proc.value("modelcache_root_size_bytes", root="plain") == 150, 1.5, 0.02)
        assert time.monotonic() - t0 < 1.0

        ps = psutil.Process(proc.proc.pid)
        time.sleep(2)  # the ledger's first retries (1 s, 2 s apart) are behind
        before, start = cpu_seconds(ps), time.monotonic()
        time.sleep(10)
        share = (cpu_seconds(ps) - before) / (time.monotonic() - start)
        assert share < 0.02, f"{share:.1%} of a core while idle"
    errors = [line for line in proc.stderr.splitlines() if "kind=name_too_long" in line]
    assert len(errors) == 1, errors  # one log line, its path cut short
    assert len(errors[0]) < 600
    assert "Traceback" not in proc.stderr


def test_the_ledger_retries_an_unreadable_model_with_a_capped_exponential_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to re-list an unreadable model on every tick (each second) for as long as it stayed so."""
    from modelcache_exporter.index.types import RootRef
    from modelcache_exporter.ledger import monitor
    from modelcache_exporter.ledger.settings import LedgerSettings
    from modelcache_exporter.scan import tree

    root = tmp_path / "models"
    (root / "m").mkdir(parents=True)
    (root / "m" / "w.bin").write_bytes(b"\x01" * 10)
    ref = RootRef("plain", str(root), "plain")
    ledger = monitor.Ledger(str(tmp_path / "ledger.sqlite"), lambda: (), (), LedgerSettings())
    ledger._handle("model", ref, "m", None, True)
    ledger._handle("indexed", ref, "", None, False)
    walks: list[object] = []

    def unreadable(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(path: object, *args: object, **kwargs: object) -> Any:
            if not str(path).startswith(str(root)):
                return real(path, *args, **kwargs)
            walks.append(path)
            raise PermissionError(13, "Permission denied", str(path))

        return call

    monkeypatch.setattr(tree.os, "open", unreadable(os.open))  # the walk opens the folder (it used to scandir it)
    monkeypatch.setattr(tree.os, "scandir", unreadable(os.scandir))
    ledger._handle("model", ref, "m", None, False)
    assert len(ledger._unread) == 1 and len(walks) == 1
    clock = [0.0]
    monkeypatch.setattr(monitor, "time", SimpleNamespace(monotonic=lambda: clock[0], time=time.time))
    for second in range(3600):  # an hour of the ledger's ticks, one a second
        clock[0] = float(second)
        ledger._tick(float(second))
    # 0, 1, 3, 7, ... 255 s, then every 5 min: 9 + 11 retries instead of 3,600
    assert len(walks) - 1 == 20
    monkeypatch.undo()  # readable again: synced at the next retry due
    ledger._retry_unread(3600.0 + monitor.RETRY_MAX)
    assert ledger._unread == {}
    ledger.store.close()
