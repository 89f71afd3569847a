"""Where the ledger reads a model's files (`ledger.reader`): here for a small model, in one worker process for a
big one, and for small ones too when they come by the hundred (a first start of many small models) or the
worker is up anyway."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from modelcache_exporter.ledger.reader import BIG_FILES, Reader


@pytest.fixture
def reader() -> Iterator[Reader]:
    r = Reader()
    yield r
    r.close()


def test_a_small_model_is_read_in_this_process(reader: Reader) -> None:
    assert reader.run(10, os.getpid) == os.getpid()
    assert not reader.running


def test_a_big_model_is_read_in_the_worker(reader: Reader) -> None:
    assert reader.run(BIG_FILES + 1, os.getpid) != os.getpid()
    assert reader.running


def test_small_models_by_the_hundred_go_to_the_worker_once_they_add_up(reader: Reader) -> None:
    step = BIG_FILES // 5
    here = [reader.run(step, os.getpid) for _ in range(5)]  # BIG_FILES in all: still here
    assert here == [os.getpid()] * 5 and not reader.running
    assert reader.run(1, os.getpid) != os.getpid()  # one file more within the second: the worker
    assert reader.run(1, os.getpid) != os.getpid()  # and while it is up, every read


def test_small_reads_a_second_apart_stay_here(reader: Reader) -> None:
    assert reader.run(BIG_FILES - 1, os.getpid) == os.getpid()
    time.sleep(1.05)
    assert reader.run(BIG_FILES - 1, os.getpid) == os.getpid()
    assert not reader.running


def test_without_workers_everything_is_read_here() -> None:
    r = Reader(workers=0)
    assert r.run(BIG_FILES * 10, os.getpid) == os.getpid()
    assert not r.running


def test_an_error_in_the_worker_reaches_the_caller(reader: Reader) -> None:
    with pytest.raises(FileNotFoundError):
        reader.run(BIG_FILES + 1, os.stat, "/nonexistent/modelcache-reader-test")
    assert reader.run(BIG_FILES + 1, os.getpid) != os.getpid()  # the worker still works
