"""Concurrent scrapes share one render that began after they arrived (`collectors.flight`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import pytest
from prometheus_client.core import GaugeMetricFamily, Metric

from modelcache_exporter.collectors.base import ScrapeCollector, ScrapeTimer
from modelcache_exporter.collectors.flight import SingleFlight


def _wait(cond: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_callers_arriving_during_a_computation_share_the_next_one() -> None:
    flight: SingleFlight[int] = SingleFlight()
    gate, runs = threading.Event(), []

    def compute() -> int:
        runs.append(len(runs))
        if len(runs) == 1:
            gate.wait(5)  # the first computation is slow; 20 callers arrive meanwhile
        return len(runs)

    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(flight.do("k", compute)))
    first.start()
    _wait(lambda: runs)
    others = [threading.Thread(target=lambda: results.append(flight.do("k", compute))) for _ in range(20)]
    for t in others:
        t.start()
    _wait(lambda: flight.shared == 19)  # one of the 20 leads the next computation, 19 join it
    gate.set()
    for t in [first, *others]:
        t.join(5)
    assert len(runs) == 2  # not 21
    assert sorted(results) == [1] + [2] * 20  # none of the 20 got the value computed before it arrived


def test_a_failure_reaches_every_caller_of_that_computation_and_is_not_kept() -> None:
    flight: SingleFlight[int] = SingleFlight()
    gate, calls = threading.Event(), []

    def boom() -> int:
        calls.append(1)
        gate.wait(5)
        raise OSError("no")

    errors: list[BaseException] = []

    def call() -> None:
        try:
            flight.do("k", boom)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(5)]
    threads[0].start()
    _wait(lambda: calls)
    for t in threads[1:]:
        t.start()
    _wait(lambda: flight.shared == 3)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(errors) == 5 and len(calls) == 2
    assert flight.do("k", lambda: 7) == 7


class _Slow:
    """A source without a cache key whose collection takes a while and counts its calls."""

    name = "slow"

    def __init__(self) -> None:
        self.calls = 0
        self.started = threading.Event()

    def collect(self) -> Iterable[Metric]:
        self.calls += 1
        self.started.set()
        time.sleep(0.2)
        g = GaugeMetricFamily("modelcache_slow_calls", "Calls so far.")
        g.add_metric([], self.calls)
        yield g


@pytest.mark.parametrize("om", [False, True])
def test_forty_concurrent_scrapes_cost_two_renders(om: bool) -> None:
    source = _Slow()
    scrape = ScrapeCollector([source], ScrapeTimer())
    bodies: list[bytes] = []
    first = threading.Thread(target=lambda: bodies.append(scrape.render(om=om, gz=True)))
    first.start()
    source.started.wait(5)
    rest = [threading.Thread(target=lambda: bodies.append(scrape.render(om=om, gz=True))) for _ in range(39)]
    for t in rest:
        t.start()
    for t in [first, *rest]:
        t.join(10)
    assert len(bodies) == 40 and source.calls == 2  # the running render, and one shared by the other 39


class _Versioned:
    """A source with a cache key (its version) that counts its collections."""

    name = "versioned"

    def __init__(self) -> None:
        self.version, self.calls = 0, 0

    def cache_key(self) -> int:
        return self.version

    def collect(self) -> Iterable[Metric]:
        self.calls += 1
        g = GaugeMetricFamily("modelcache_test_version", "The source's version.")
        g.add_metric([], float(self.version))
        return [g]


def test_a_change_is_encoded_ahead_of_the_scrape_that_follows() -> None:
    source = _Versioned()
    scrape = ScrapeCollector([source], ScrapeTimer())
    first = scrape.render(om=False)
    assert b"modelcache_test_version 0.0" in first and source.calls == 1
    source.version = 1
    scrape.prepare()  # the encoding thread's turn: the change is collected and encoded here
    assert source.calls == 2
    body = scrape.render(om=False)
    assert b"modelcache_test_version 1.0" in body and source.calls == 2  # the scrape only sent it
    scrape.prepare()  # nothing changed: nothing collected
    assert source.calls == 2
    scrape.render(om=True)  # a scrape asked for OpenMetrics: from now on that is encoded ahead too
    source.version = 2
    scrape.prepare()
    assert source.calls == 3
    assert b"modelcache_test_version 2.0" in scrape.render(om=True) and source.calls == 3


class _Gated(_Versioned):
    """A versioned source whose collection waits for `go` once `gate` is set (an encoding that takes a while)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.entered, self.go = False, threading.Event(), threading.Event()

    def collect(self) -> Iterable[Metric]:
        if self.gate:
            self.entered.set()
            self.go.wait(10)
        return super().collect()


def test_a_scrape_waits_for_the_state_being_encoded_ahead_instead_of_encoding_it_beside() -> None:
    source = _Gated()
    scrape = ScrapeCollector([source], ScrapeTimer())
    scrape.render(om=False)
    source.version, source.gate = 1, True
    ahead = threading.Thread(target=scrape.prepare)
    ahead.start()
    assert source.entered.wait(5)
    bodies: list[bytes] = []
    scraper = threading.Thread(target=lambda: bodies.append(scrape.render(om=False)))
    scraper.start()
    scraper.join(0.2)
    assert scraper.is_alive()  # waiting for the encoding ahead
    source.go.set()
    ahead.join(5)
    scraper.join(5)
    assert b"modelcache_test_version 1.0" in bodies[0]
    assert source.calls == 2  # version 0, and version 1 once: by the encoder, not again by the scrape
