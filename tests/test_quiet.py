"""Quiet windows (issue 16): background work pauses while a scrape is served and, for a client that scrapes
at a steady interval over one connection (Prometheus), from shortly before its next scrape is due. The
windows are set by the real HTTP server on real sockets, and read by a real spawned worker process."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cachefixture
import pytest

from modelcache_exporter.base import quiet, threads
from modelcache_exporter.config.roots import RootConfig
from modelcache_exporter.index import upkeep
from modelcache_exporter.index.offproc import Background, spawn_pool, stop_pool
from modelcache_exporter.index.root import RootIndex
from modelcache_exporter.index.types import IndexSettings
from modelcache_exporter.index.worker import collect_links
from modelcache_exporter.ledger.store import Store
from modelcache_exporter.scan.hub import scan_repo
from modelcache_exporter.scan.hubsnap import single_snapshot_match, walk_revision
from modelcache_exporter.web.pacing import LATE, LEAD, MIN_INTERVAL, SERVE_HOLD, Pacer, predict
from modelcache_exporter.web.server import serve


def local() -> quiet.Windows:
    return quiet.Windows([0.0] * (2 * quiet.SLOTS))


def test_a_window_is_open_from_its_start_until_its_end() -> None:
    w = local()
    w.set(0, 10.0, 10.5)
    assert w.quiet_until(9.99) == 0.0
    assert w.quiet_until(10.0) == 10.5
    assert w.quiet_until(10.49) == 10.5
    assert w.quiet_until(10.5) == 0.0
    w.set(3, 10.2, 10.8)  # the latest end of the windows open
    assert w.quiet_until(10.3) == 10.8


def test_a_window_never_lasts_longer_than_max_window() -> None:
    w = local()
    w.set(0, 5.0, 1e9)
    assert w.quiet_until(5.0) == 5.0 + quiet.MAX_WINDOW
    w.values[1] = 1e9  # a torn or stale end, written behind set()'s back
    assert w.quiet_until(5.0) == 0.0


def test_slots_are_taken_cleared_and_given_back() -> None:
    w = local()
    slots = [w.take() for _ in range(quiet.SLOTS)]
    assert sorted(s for s in slots if s is not None) == list(range(quiet.SLOTS))
    assert w.take() is None
    w.set(2, 1.0, 2.0)
    w.give_back(2)
    assert w.quiet_until(1.5) == 0.0
    assert w.take() == 2


@pytest.fixture
def installed() -> Iterator[quiet.Windows]:
    """This process's pauses read a local `Windows`; put back as they were after the test."""
    saved = quiet._HERE.windows
    w = local()
    quiet._HERE.windows = w
    quiet._HERE.second, quiet._HERE.paused = 0.0, 0.0
    try:
        yield w
    finally:
        quiet._HERE.windows = saved


def test_pause_waits_until_the_window_ends(installed: quiet.Windows) -> None:
    assert quiet.pause() == 0.0
    now = time.monotonic()
    installed.set(0, now, now + 0.05)
    t0 = time.monotonic()
    waited = quiet.pause()
    assert 0.03 < waited <= 0.05
    assert time.monotonic() - t0 >= waited - 0.002
    assert quiet.pause() == 0.0  # the window is over


def test_a_pause_is_bounded_and_a_second_is_never_more_than_half_paused(installed: quiet.Windows) -> None:
    now = time.monotonic()
    installed.set(0, now, now + quiet.MAX_WINDOW)
    waits = [quiet.pause() for _ in range(7)]
    assert all(w <= quiet.MAX_PAUSE for w in waits)
    assert sum(waits) == pytest.approx(quiet.MAX_SHARE, abs=1e-6)
    assert waits[-1] == 0.0  # the work goes on although the window is still open


def _pause_in_worker() -> float:
    return quiet.pause()


def test_a_spawned_worker_pauses_in_the_serving_process_windows() -> None:
    pool = spawn_pool(1)
    try:
        assert pool.submit(_pause_in_worker).result(30) == 0.0
        w = quiet.windows()
        slot = w.take()
        assert slot is not None
        now = time.monotonic()
        w.set(slot, now, now + 0.5)
        try:
            waited = pool.submit(_pause_in_worker).result(30)
        finally:
            w.give_back(slot)
        assert waited == pytest.approx(quiet.MAX_PAUSE, abs=1e-6)
        assert pool.submit(_pause_in_worker).result(30) == 0.0
    finally:
        stop_pool(pool)


def test_a_background_part_is_sent_back_after_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass's part finished in a worker while a scrape is served or due is sent back (and unpickled by the
    serving process) after the window, at most `MAX_PAUSE` later; without a window at once."""
    done = threading.Event()
    bg = Background(1, done.set)
    try:
        bg.submit(time.monotonic, [()])
        assert done.wait(30) and len(bg.take()) == 1
        w = quiet.windows()
        slot = w.take()
        assert slot is not None
        done.clear()
        now = time.monotonic()
        w.set(slot, now, now + 0.5)
        try:
            bg.submit(time.monotonic, [()])
            assert done.wait(30)
        finally:
            w.give_back(slot)
        finished = bg.take()[0]
        assert time.monotonic() - finished >= quiet.MAX_PAUSE * 0.9  # it ran at once, then waited
    finally:
        bg.close()


def test_steady_arrivals_predict_the_next_one() -> None:
    due = predict((100.0, 101.0, 102.004))
    assert due is not None and due.at == pytest.approx(103.008) and due.interval == pytest.approx(1.004)
    assert predict((100.0, 101.0)) is None  # two arrivals: one interval, nothing to compare it with
    assert predict((100.0, 101.0, 102.5)) is None  # not steady
    fast = MIN_INTERVAL / 2
    assert predict((100.0, 100.0 + fast, 100.0 + 2 * fast)) is None  # back to back: not predicted


def test_a_client_every_half_second_is_predicted_though_its_intervals_jitter() -> None:
    """Scraped every 0.5 s (the bench's clients), intervals come a fraction of a ms short or long: each one is
    predicted (at a `MIN_INTERVAL` of 0.5 s half of them predicted nothing, and those scrapes met the work)."""
    for jitter in (-0.0008, 0.0, 0.0008):
        due = predict((100.0, 100.5 + jitter, 101.0))
        assert due is not None and due.at == pytest.approx(101.5 - jitter)


def test_a_pacer_holds_its_window_while_serving_then_around_the_next_request() -> None:
    w = local()
    pacer = Pacer(w)
    for t in (10.0, 11.0):
        pacer.begin(t)
        assert w.quiet_until(t + 0.01) == t + SERVE_HOLD
        pacer.end(t + 0.01)
        assert w.quiet_until(t + 0.02) == 0.0  # two arrivals predict nothing yet
    pacer.begin(12.0)
    pacer.end(12.01)
    assert w.quiet_until(13.0 - LEAD - 0.001) == 0.0
    assert w.quiet_until(13.0 - LEAD) == pytest.approx(13.0 + LATE)
    pacer.close()
    assert w.quiet_until(13.0) == 0.0
    assert w.take() is not None


def test_connections_beyond_the_slots_get_no_window() -> None:
    w = local()
    pacers = [Pacer(w) for _ in range(quiet.SLOTS + 1)]
    assert pacers[-1].slot is None
    pacers[-1].begin(1.0)
    pacers[-1].end(1.1)
    assert w.quiet_until(1.05) == 0.0


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]


@pytest.fixture
def server() -> Iterator[tuple[int, quiet.Windows]]:
    w = local()
    srv = serve("127.0.0.1", 0, _app, windows=w)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_address[1], w
    finally:
        srv.shutdown()
        srv.server_close()


def _get(conn: http.client.HTTPConnection) -> None:
    conn.request("GET", "/metrics")
    assert conn.getresponse().read() == b"ok\n"


def test_the_server_predicts_a_steady_scraper_on_a_kept_alive_connection(server: tuple[int, quiet.Windows]) -> None:
    port, w = server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    interval = MIN_INTERVAL + 0.1
    start = time.monotonic()
    for i in range(3):
        time.sleep(max(0.0, start + i * interval - time.monotonic()))
        _get(conn)
    due = start + 3 * interval
    end = time.monotonic() + 2  # the server ends the request (its window) just after the client has the answer
    while w.quiet_until(time.monotonic()) and time.monotonic() < end:
        time.sleep(0.005)
    assert w.quiet_until(time.monotonic()) == 0.0  # answered, and not due yet
    assert w.quiet_until(due - LEAD / 2) == pytest.approx(due + LATE, abs=0.02)
    conn.close()
    end = time.monotonic() + 5
    while w.quiet_until(due) and time.monotonic() < end:  # the connection's close frees its window
        time.sleep(0.01)
    assert w.quiet_until(due) == 0.0


def test_a_client_with_a_new_connection_per_request_is_not_predicted(server: tuple[int, quiet.Windows]) -> None:
    port, w = server
    for _ in range(3):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        _get(conn)
        conn.close()
        time.sleep(MIN_INTERVAL + 0.05)
    now = time.monotonic()
    assert w.quiet_until(now + MIN_INTERVAL + 0.05) == 0.0


@pytest.fixture
def big_repo(tmp_path: Any) -> Any:
    """A hub repo whose one snapshot folder holds 2.5 x `quiet.EVERY` links to as many blobs."""
    files = {f"f{i:04d}.bin": f"{i}\n".encode() for i in range(quiet.EVERY * 5 // 2)}
    repo = tmp_path / "hub" / "models--org--big"
    cachefixture._snapshot(repo, "a" * 40, files)
    return repo


def _walk(walk: str, repo: Any) -> None:
    root, key = str(repo.parent), repo.name
    if walk == "size pass":
        assert scan_repo(root, key, links=False).files == quiet.EVERY * 5 // 2
    elif walk == "link pass, common shape":
        assert single_snapshot_match(str(repo)) == ("a" * 40, quiet.EVERY * 5 // 2)
    elif walk == "link pass, full read":  # two revisions: not the common shape, every link is read
        cachefixture._snapshot(repo, "b" * 40, {"f0000.bin": b"0\n"})
        assert scan_repo(root, key, links=True).files == quiet.EVERY * 5 // 2
    else:
        walk_revision(str(repo / "snapshots" / ("a" * 40)), "rev", lambda *_: None, lambda *_: None, [])


WALKS = ["size pass", "link pass, common shape", "link pass, full read", "revision"]


@pytest.mark.parametrize("walk", WALKS)
def test_a_walk_pauses_within_a_big_folder(walk: str, big_repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `EVERY` entries a walk looks whether a scrape is served or due, not only between repos: warm, a
    2,000-file repo is ~15 ms of a worker's CPU, which a scrape served beside it would share."""
    calls: list[float] = []
    monkeypatch.setattr(quiet, "pause", lambda: calls.append(time.monotonic()) or 0.0)
    _walk(walk, big_repo)
    assert len(calls) >= (4 if walk == "link pass, full read" else 2)  # full read: blobs/ and the links


@pytest.mark.parametrize("walk", WALKS)
def test_a_walk_in_a_disk_bound_thread_does_not_pause_within(
    walk: str, big_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread of `base.threads` (several reads in flight: a cold disk) skips the pauses within a repo: it
    waits on the disk, not the CPU, and pausing would empty the disk's queue (what exact sizes wait for)."""
    calls: list[float] = []
    monkeypatch.setattr(quiet, "pause", lambda: calls.append(time.monotonic()) or 0.0)
    with ThreadPoolExecutor(1, initializer=quiet.disk_bound) as pool:
        pool.submit(_walk, walk, big_repo).result(30)
    assert calls == []
    _walk("revision", big_repo)  # the flag is the thread's: this one still pauses
    assert len(calls) >= 2


def test_the_read_threads_are_disk_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """`map_threads` (the reads of a cold disk) runs its items in disk-bound threads; between items it pauses."""
    calls: list[float] = []
    monkeypatch.setattr(quiet, "pause", lambda: calls.append(time.monotonic()) or 0.0)
    monkeypatch.setattr(threads, "pause", quiet.pause)
    flags = threads.map_threads(lambda _: (quiet.pause_within(), getattr(quiet._THREAD, "disk", False))[1], range(6), 3)
    assert flags == [True] * 6
    assert len(calls) == 6  # one before each item, none within


def test_a_first_item_slowed_by_a_pause_is_not_taken_for_a_cold_disk(installed: quiet.Windows) -> None:
    """`map_adaptive` times its first item without the pauses in it: a scrape served meanwhile (a warm repo
    paused within for 80 ms) does not send the rest to threads, which do not pause within (a reconciliation's
    scrapes then met 8 unpaused threads: p99 3x idle)."""
    where: list[str] = []

    def item(i: int) -> int:
        if i == 0:
            now = time.monotonic()
            installed.set(0, now, now + 0.08)
            assert quiet.pause_within() > 0.06
        where.append(threading.current_thread().name)
        return i

    assert threads.map_adaptive(item, list(range(5)), slow=0.05) == list(range(5))
    assert set(where) == {threading.current_thread().name}
    assert quiet.paused_here() > 0.06
    slow: list[str] = []  # a first item slow by itself (a cold disk): the rest in read threads
    assert threads.map_adaptive(
        lambda i: time.sleep(0.06) or slow.append(threading.current_thread().name) or i, [0, 1, 2], 0.05
    ) == [0, 1, 2]
    assert all(name.startswith("read") for name in slow[1:])


def test_the_index_applies_link_reads_and_reconciliations_between_scrapes(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root's thread (in the serving process) pauses before it applies what the link pass read, and before
    it compares a reconciliation's scan: applying, publishing and encoding a part come after the scrape."""
    cache = tmp_path / "hub"
    for i in range(3):
        cachefixture._snapshot(cache / f"models--org--m{i}", "a" * 40, {"w.bin": f"{i}\n".encode()})
    idx = RootIndex(RootConfig("hub", str(cache), "hf-hub"), (), IndexSettings(scan_workers=0), watcher=None)
    assert idx._start() and idx._unverified
    calls: list[str] = []
    monkeypatch.setattr(quiet, "pause", lambda: calls.append(str(len(idx._unverified))) or 0.0)
    while idx._unverified:
        collect_links(idx)
    assert calls and calls[0] == "3"  # before the first read was applied
    calls.clear()
    upkeep.reconcile(idx)  # in-process (a small root)
    assert calls == ["0"]
    assert dict(idx.stats.scans)["reconcile"] == 1


def test_the_ledger_writes_in_chunks_pausing_between(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    monkeypatch.setattr(quiet, "pause", lambda: calls.append(time.monotonic()) or 0.0)
    store = Store(str(tmp_path / "ledger.sqlite"))
    n = quiet.EVERY * 5 // 2
    rows = [(1.0, "hub", "org/m", "org/m", f"f{i}", "first", 3, None) for i in range(n)]
    store.transaction([("INSERT INTO downloads VALUES (?,?,?,?,?,?,?,?)", rows)])
    assert store.query("SELECT COUNT(*) FROM downloads") == [(n,)]
    assert len(calls) == 2  # between the 3 chunks
    store.close()


def test_a_pause_ends_soon_after_its_window_is_cleared(installed: quiet.Windows) -> None:
    """A served request's window lasts until it is answered: the work goes on then, not `MAX_PAUSE` later."""
    now = time.monotonic()
    installed.set(0, now, now + 0.25)
    clear = threading.Timer(0.01, lambda: installed.set(0, 0.0, 0.0))
    clear.start()
    waited = quiet.pause()
    clear.join()
    assert 0.005 < waited < 0.05
