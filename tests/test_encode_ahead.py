"""Scrapes and the encoding thread: right after a source changes, a scrape serves the source's previous
encoding (at most `STALE_SECONDS` old) and wakes the encoding thread instead of encoding hundreds of models
itself; once that thread has encoded the change, scrapes serve it; without that thread, or once the previous
encoding is older than the bound, a scrape encodes the change itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from prometheus_client.core import GaugeMetricFamily, Metric

from modelcache_exporter.collectors import base
from modelcache_exporter.collectors.base import ScrapeCollector, ScrapeTimer


class Versioned:
    """A source whose one gauge is its version."""

    name = "versioned"

    def __init__(self) -> None:
        self.version = 1

    def cache_key(self) -> object:
        return self.version

    def collect(self) -> Iterator[Metric]:
        g = GaugeMetricFamily("modelcache_test_version", "The source's version.")
        g.add_metric([], self.version)
        yield g


def _version(body: bytes) -> str:
    return next(line for line in body.decode().splitlines() if line.startswith("modelcache_test_version ")).split()[1]


def test_a_change_is_served_once_the_encoding_thread_encoded_it() -> None:
    source = Versioned()
    scrape = ScrapeCollector([source], ScrapeTimer())  # type: ignore[list-item]
    scrape.ahead = True
    assert _version(scrape.render(False)) == "1.0"
    source.version = 2
    assert _version(scrape.render(False)) == "1.0"  # the previous encoding, while the thread is woken
    assert scrape.wanted.is_set()
    scrape.prepare()
    assert _version(scrape.render(False)) == "2.0"


def test_the_previous_encoding_is_served_for_a_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "STALE_SECONDS", 0.05)
    source = Versioned()
    scrape = ScrapeCollector([source], ScrapeTimer())  # type: ignore[list-item]
    scrape.ahead = True
    scrape.render(False)
    source.version = 2
    assert _version(scrape.render(False)) == "1.0"
    time.sleep(0.06)
    source.version = 3  # changing again does not extend the bound
    assert _version(scrape.render(False)) == "3.0"  # no encoding thread came: the scrape encodes it


def test_without_an_encoding_thread_a_scrape_encodes_the_change() -> None:
    source = Versioned()
    scrape = ScrapeCollector([source], ScrapeTimer())  # type: ignore[list-item]
    scrape.render(False)
    source.version = 2
    assert _version(scrape.render(False)) == "2.0" and not scrape.wanted.is_set()
