"""The link pass off the exporter's process: what the workers report is what a full in-process scan finds.

- A repo of the common shape (one snapshot, one link to each blob) is confirmed without a `stat`, and the size
  pass report made exact that way equals the full scan; every other shape (two revisions, an unused blob, a
  broken link, a shared store) is read in full.
- A root above the in-process threshold is read by worker processes, and the index it ends with equals a
  scan done here; the workers are gone once the pass is over. Its reconciliation scans in a worker too, and
  still corrects what no event announced.
- The pass always ends: a part finishing while the parts are taken is kept, repos still pending once every
  part is back are read here, and a repo whose rescan fails is not read again and again.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import Future
from pathlib import Path

import cachefixture
import pytest
from fakehub import FakeHub, run_download

from modelcache_exporter.config.roots import RootConfig
from modelcache_exporter.index import linkpass, upkeep, worker
from modelcache_exporter.index.events import Batch
from modelcache_exporter.index.linkpass import confirmed
from modelcache_exporter.index.offproc import Background
from modelcache_exporter.index.root import RootIndex
from modelcache_exporter.index.types import IndexSettings
from modelcache_exporter.index.worker import collect_links
from modelcache_exporter.layouts.work import link_part, read_one
from modelcache_exporter.scan import hub as hubscan
from modelcache_exporter.scan.store import store_path

FILES = {"config.json": b'{"a": 1}\n', "sub/vocab.txt": b"a\nb\n", "model.safetensors": b"\x01" * 5000}


def _exact_by_confirmation(root: Path, key: str) -> object:
    size = hubscan.scan_repo(str(root), key, store_path(str(root)), links=False)
    read = read_one(str(root), key)
    assert read.confirmed is not None, key
    return confirmed(size, *read.confirmed)


def test_a_real_download_is_confirmed_and_equals_the_full_scan(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tts", FILES)
    run_download(hub, repo_id="org/tts", cache_dir=str(tmp_path))
    key = "models--org--tts"
    full = hubscan.scan_repo(str(tmp_path), key, None, links=True)
    assert full.files == 3 and full.verified
    assert _exact_by_confirmation(tmp_path, key) == full


@pytest.mark.parametrize(
    "key", ["models--org--alpha", "datasets--org--data", "models--org--broken", "models--org--xet"]
)
def test_other_shapes_are_read_in_full(tmp_path: Path, key: str) -> None:
    """alpha: two revisions; data: an unused blob; broken: a link to a missing blob; xet: blobs are links."""
    cache = cachefixture.build(tmp_path / "hub")
    read = read_one(str(cache), key)
    assert read.confirmed is None
    assert read.model == hubscan.scan_repo(str(cache), key, store_path(str(cache)), links=True)


def test_a_size_report_that_no_longer_matches_is_not_confirmed(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tts", FILES)
    run_download(hub, repo_id="org/tts", cache_dir=str(tmp_path))
    key = "models--org--tts"
    size = hubscan.scan_repo(str(tmp_path), key, None, links=False)
    assert confirmed(size, size.revisions[0].commit, size.files + 1) is None  # a blob arrived since
    assert confirmed(size, "0" * 40, size.files) is None  # another commit since


def test_a_big_root_is_read_by_workers_and_ends_exact(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    for i in range(3):
        hub.add_repo(f"org/m{i}", {**FILES, "extra.bin": bytes([i]) * 100})
        run_download(hub, repo_id=f"org/m{i}", cache_dir=str(cache))
    monkeypatch.setattr(linkpass, "IN_PROCESS_FILES", 0)  # this small root goes to the workers
    idx = RootIndex(RootConfig("hub", str(cache), "hf-hub"), (), IndexSettings(scan_workers=2), watcher=None)
    assert idx._start()
    assert idx.links.waiting  # the reads are out in worker processes
    assert len(multiprocessing.active_children()) >= 1
    idx.start()
    deadline = time.monotonic() + 30
    while not idx.state.verified and time.monotonic() < deadline:
        time.sleep(0.05)
    idx.stop()
    idx.join(5)
    assert idx.state.verified
    want = {m.key: m for m in hubscan.scan_root(str(cache), links=True).models}
    assert dict(idx._models) == want
    assert dict(idx.stats.scans)["links"] == 1
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()


def test_a_part_read_in_a_worker_process_is_what_is_read_here(tmp_path: Path) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    keys = sorted(p.name for p in cache.iterdir() if "--" in p.name)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        there = pool.apply(link_part, (str(cache), keys))
    assert there == link_part(str(cache), keys)
    assert [r.key for r in there] == keys


def test_a_reconciliation_of_a_big_root_scans_in_a_worker_and_corrects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    idx = RootIndex(RootConfig("hub", str(cache), "hf-hub"), (), IndexSettings(scan_workers=1), watcher=None)
    assert idx._start()
    while idx._unverified:
        collect_links(idx)
    monkeypatch.setattr(upkeep, "IN_PROCESS_FILES", 0)
    blob = cache / "models--org--alpha" / "blobs" / ("9" * 40)
    blob.write_bytes(b"\x09" * 500)  # no event reaches the index
    os.symlink(f"../../blobs/{'9' * 40}", cache / "models--org--alpha" / "snapshots" / cachefixture.REV2 / "late.bin")
    assert upkeep.reconcile(idx) is False  # the scan is out in a worker
    assert idx.reconciler.busy and multiprocessing.active_children()
    deadline = time.monotonic() + 30
    while not upkeep.take_reconcile(idx) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not idx.reconciler.busy
    assert idx.stats.corrections == 1
    assert idx._models["models--org--alpha"] == hubscan.scan_repo(
        str(cache), "models--org--alpha", store_path(str(cache))
    )
    assert dict(idx.stats.scans)["reconcile"] == 1


@pytest.mark.parametrize("interval", [1.0, 600.0])
def test_a_reconcile_worker_is_kept_only_when_the_next_reconciliation_is_near(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interval: float
) -> None:
    """Starting a process costs more than the scan of a small root: at a short interval the same worker
    scans again; at the default interval it is stopped once its scan is taken."""
    cache = cachefixture.build(tmp_path / "hub")
    settings = IndexSettings(scan_workers=1, reconcile=interval)
    idx = RootIndex(RootConfig("hub", str(cache), "hf-hub"), (), settings, watcher=None)
    assert idx._start()
    while idx._unverified:
        collect_links(idx)
    monkeypatch.setattr(upkeep, "IN_PROCESS_FILES", 0)
    pids = []
    for _ in range(2):
        assert upkeep.reconcile(idx) is False  # out in a worker
        pids.append({p.pid for p in multiprocessing.active_children()})
        deadline = time.monotonic() + 30
        while not upkeep.take_reconcile(idx) and idx.reconciler.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not idx.reconciler.busy
        if interval <= 30:
            assert {p.pid for p in multiprocessing.active_children()} == pids[-1]
        else:
            _until_no_children()
    assert (pids[0] == pids[1]) if interval <= 30 else not pids[0] & pids[1]
    idx.reconciler.close()
    _until_no_children()
    assert dict(idx.stats.scans)["reconcile"] == 2


def _until_no_children() -> None:
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()


class _FinishingPart(Future[list[int]]):
    """A worker's part that finishes while `take()` looks at the parts: not done when first asked, done from
    then on (the race of a part arriving between two looks)."""

    def done(self) -> bool:
        was = super().done()
        if not was and not self.asked:
            self.asked = True
            self.set_result([1])
        return was

    asked = False


class _Pool:
    """An executor whose one submitted part is a `_FinishingPart`."""

    def submit(self, _fn: object, *_args: object) -> Future[list[int]]:
        return _FinishingPart()

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def test_a_part_that_finishes_while_the_parts_are_taken_is_not_lost() -> None:
    """Found by the 1M benchmark: a part done between `take()`'s two looks was in neither list; the link pass
    then waited for it for ever (no part out, its repos never read, the root's thread spinning)."""
    bg = Background(1, lambda: None, _Pool())  # type: ignore[arg-type]
    bg.submit(len, [((),)])
    got = bg.take()
    assert got == [[1]] or (bg.busy and bg.take() == [[1]])
    assert not bg.busy


def test_repos_still_pending_when_every_part_is_back_are_read_here(tmp_path: Path) -> None:
    """A repo whose worker read was dropped (rescanned meanwhile, or its part lost) is still read: once no part
    is out, the pass reads what is pending in-process rather than waiting for workers that have nothing left."""
    cache = cachefixture.build(tmp_path / "hub")
    keys = sorted(p.name for p in cache.iterdir() if "--" in p.name)
    lp = linkpass.LinkPass(str(cache), "hub", 1, lambda: None)
    assert lp.start(keys[:1], files=10**6) == "workers"
    pending, read = list(keys), []
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for r in lp.read(pending, 1.0):
            pending.remove(r.key)
            read.append(r.key)
        time.sleep(0.01)
    lp.close()
    assert sorted(read) == keys and not lp.waiting


def test_a_repo_whose_rescan_fails_is_read_once(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read that calls for a rescan which then fails (the root not searchable that moment) keeps the size pass
    report, as a failed read does: the pass goes on to its end instead of reading that repo again and again."""
    cache = tmp_path / "hub"
    for i in range(2):
        hub.add_repo(f"org/m{i}", FILES)
        run_download(hub, repo_id=f"org/m{i}", cache_dir=str(cache))
    idx = RootIndex(RootConfig("hub", str(cache), "hf-hub"), (), IndexSettings(scan_workers=0), watcher=None)
    assert idx._start()
    keys = list(idx._unverified)
    assert keys and idx.index.ops is not None

    def denied(key: str) -> None:
        raise PermissionError(13, "Permission denied", key)

    monkeypatch.setattr(worker, "confirmed", lambda *_a: None)  # every confirmation calls for a rescan
    monkeypatch.setattr(idx.index.ops, "scan_one", denied)
    for _ in keys:
        collect_links(idx)
        if not idx._unverified:
            break
    assert idx._unverified == [] and dict(idx.stats.scans)["links"] == 1


def test_the_roots_thread_sleeps_while_the_workers_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the 1M benchmark: once the link pass had published and its one-second gap had passed with no
    part back, the gap's job stayed due, so the root's thread, told to sleep until its next job, never slept:
    ~32,000 empty rounds in the 15 s of the pass, whose GIL raised the scrape p99 to 2.8x idle."""
    cache = cachefixture.build(tmp_path / "hub")
    idx = RootIndex(RootConfig("hub", str(cache), "hf-hub"), (), IndexSettings(scan_workers=0), watcher=None)
    assert idx._start()
    first, *rest = idx._unverified
    assert rest, "two repos or more: the pass is not over after the first report"
    reports = [[read_one(str(cache), first)]]  # one part back, then the workers are still reading
    monkeypatch.setattr(idx.links, "read", lambda _pending, _budget: reports.pop() if reports else [])
    now = time.monotonic()
    generation = idx.state.generation
    worker.step(idx, Batch(), now)
    assert idx.state.generation == generation + 1  # the report was published
    later = now + 2 * worker.VERIFY_PUBLISH_GAP
    worker.step(idx, Batch(), later)  # nothing came back meanwhile
    assert idx.schedule.next_time(default=later + 60) > later  # no job left due: the thread sleeps
