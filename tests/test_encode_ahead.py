"""A state the index publishes is encoded at once, ahead of the scrape that follows (`base.published`): not
at the encoder's next poll, when a scrape may already pay for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fakehub import FakeHub, run_download
from helpers import InProcess, wait_for

from modelcache_exporter import app
from modelcache_exporter.base.published import Signal

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
FAST = ["--collector.cache.poll-interval", "200ms", "--collector.cache.scan-workers", "0"]


def test_a_wait_returns_at_once_when_something_was_published_since() -> None:
    signal = Signal()
    signal.bump()
    t0 = time.monotonic()
    assert signal.wait(0, timeout=30) == 1
    assert time.monotonic() - t0 < 5


def test_a_wait_ends_at_its_timeout_when_nothing_is_published() -> None:
    signal = Signal()
    t0 = time.monotonic()
    assert signal.wait(signal.count, timeout=0.05) == 0
    assert time.monotonic() - t0 >= 0.05


def test_a_bump_wakes_a_waiter_on_another_thread() -> None:
    signal, got = Signal(), []
    waiter = threading.Thread(target=lambda: got.append(signal.wait(0, timeout=30)))
    waiter.start()
    signal.bump()
    waiter.join(10)
    assert got == [1]


def test_a_new_model_is_encoded_without_a_scrape_long_before_the_encoders_poll(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "ENCODE_AHEAD", 60.0)  # were it polling only, nothing would be encoded for a minute
    cache = tmp_path / "hub"
    hub.add_repo("org/first", {"config.json": b"{}\n"})
    run_download(hub, repo_id="org/first", cache_dir=str(cache))
    args = ["--path.cache", str(cache), "--path.state", str(tmp_path / "state"), *QUIET, *FAST]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        scrape = ex.exporter.scrape
        assert b'repo="org/first"' in scrape.render(om=False)
        hub.add_repo("org/second", {"config.json": b"{}\n"})
        run_download(hub, repo_id="org/second", cache_dir=str(cache))
        body = wait_for(lambda: scrape.encoded("cache", om=False) or b"", timeout=10, what="encoded")
        wait_for(lambda: b'repo="org/second"' in (scrape.encoded("cache", om=False) or b""), 10, what="org/second")
        assert b'repo="org/first"' in body
        assert scrape.encoded("cache", om=True) is None  # only the format scrapes asked for
