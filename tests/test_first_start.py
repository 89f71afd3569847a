"""A first start of a big root: exact sizes first.

- The size pass and the link pass after it share one set of worker processes (spawned once), and the index
  ends exact, equal to a full scan done here.
- The ledger's reads wait for the index: while a big root (link pass in workers) is not yet exact the gate is
  closed; a small, missing or unreadable root does not hold it; after `MAX_WAIT` it opens whatever the index
  does; once open (every root indexed, none busy) it stays open.
"""

from __future__ import annotations

import time
from pathlib import Path

import cachefixture
import pytest
from fakehub import FakeHub, run_download

from modelcache_exporter.config.roots import RootConfig
from modelcache_exporter.index import linkpass, offproc, parallel
from modelcache_exporter.index.root import RootIndex
from modelcache_exporter.index.state import RootState
from modelcache_exporter.index.types import IndexSettings
from modelcache_exporter.ledger.startgate import BIG_FILES, StartGate, index_busy
from modelcache_exporter.scan import hub as hubscan

FILES = {"config.json": b'{"a": 1}\n', "sub/vocab.txt": b"a\nb\n", "model.safetensors": b"\x01" * 5000}


def test_the_size_pass_and_the_link_pass_share_their_workers(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    for i in range(6):
        hub.add_repo(f"org/m{i}", {**FILES, "extra.bin": bytes([i]) * 100})
        run_download(hub, repo_id=f"org/m{i}", cache_dir=str(cache))
    monkeypatch.setattr(linkpass, "IN_PROCESS_FILES", 0)  # this small root's links go to workers
    monkeypatch.setattr(parallel, "SMALL_SECONDS", 0.0)  # and so does its size pass
    monkeypatch.setattr(parallel, "PROBE_SECONDS", 0.0)
    spawned: list[int] = []
    real = offproc.spawn_pool

    def counted(workers: int, niceness: int = offproc.NICENESS) -> object:
        spawned.append(workers)
        return real(workers, niceness)

    monkeypatch.setattr(offproc, "spawn_pool", counted)
    idx = RootIndex(RootConfig("hub", str(cache), "hf-hub"), (), IndexSettings(scan_workers=2), watcher=None)
    assert idx._start()
    assert idx.links.waiting  # the link reads are out in the processes the size pass started
    idx.start()
    deadline = time.monotonic() + 30
    while not idx.state.verified and time.monotonic() < deadline:
        time.sleep(0.05)
    idx.stop()
    idx.join(5)
    assert idx.state.verified
    assert spawned == [2]  # one pool for both passes
    assert dict(idx._models) == {m.key: m for m in hubscan.scan_root(str(cache), links=True).models}


def _root(**fields: object) -> RootState:
    return RootState(name="r", path="/r", layout="hf-hub", origin="flag", **fields)  # type: ignore[arg-type]


def test_the_ledger_waits_while_a_big_root_is_not_yet_exact() -> None:
    big, small = BIG_FILES, BIG_FILES - 1
    indexing = _root()  # not indexed yet: nothing of it reaches the ledger, which may go on
    linking = _root(present=True, ready=True, verified=False, files=big)
    exact = _root(present=True, ready=True, verified=True, files=big)
    small_linking = _root(present=True, ready=True, verified=False, files=small)  # done in a moment: no wait
    missing = _root(present=False, ready=True)
    unreadable = _root(present=True, ready=True, problem="permission denied", files=big)
    assert index_busy([exact, linking]) and not index_busy([indexing])
    assert not index_busy([exact, small_linking, missing, unreadable]) and not index_busy([])
    gate = StartGate(max_wait=60)
    assert gate.open([]) and gate.opened_after is None  # the index not started yet
    assert gate.open([indexing, exact]) and gate.opened_after is None  # not latched before every root is indexed
    assert not gate.open([linking]) and gate.opened_after is None
    assert gate.open([exact])
    assert gate.opened_after is not None and gate.open([linking])  # open for good: later passes hold nothing
    late = StartGate(max_wait=0.05)
    assert not late.open([linking])
    time.sleep(0.06)
    assert late.open([linking]) and late.opened_after is not None and late.opened_after >= 0.05
