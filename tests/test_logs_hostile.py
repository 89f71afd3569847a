"""A hostile log: a 10 MB line, binary garbage, 100,000 distinct file names and repos. Memory stays
bounded (traced allocations) and label cardinality stays capped (counted in the /metrics text)."""

from __future__ import annotations

import os
import random
import tracemalloc
from pathlib import Path

from helpers import samples, value
from logtools import NUMBERED, metrics, monitor

from modelcache_exporter.logs.downloads import MAX_ACTIVE

MIB = 1 << 20


def _peak(fn: object) -> int:
    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_10_mb_line_keeps_memory_bounded(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    log.write_bytes(b"line 1\n")
    mon, rec = monitor([log], [NUMBERED])
    mon.poll_once()

    def grow() -> None:
        for _ in range(10):  # written 1 MB at a time, one poll each: the partial line is held, bounded
            with open(log, "ab") as fh:
                fh.write(b"x" * MIB)
            mon.poll_once()
        with open(log, "ab") as fh:
            fh.write(b"\nline 2\n* Running on local URL:  http://0.0.0.0:7860\n")
        mon.poll_once()

    assert _peak(grow) < 2 * MIB
    text = metrics(mon)
    assert rec.values() == [1, 2]
    assert value(text, "modelcache_log_lines_truncated_total", log="webui") == 1
    assert value(text, "modelcache_log_lines_total", log="webui") == 4
    assert value(text, "modelcache_webui_ready") == 1


def test_binary_garbage_is_survived(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    rng = random.Random(7)
    with open(log, "wb") as fh:
        for _ in range(64):
            fh.write(rng.randbytes(64 * 1024))
        fh.write(b"\nline 1\n\xff\xfe\x1b[31m>> GPT weights restored from: \xc3\x28 bad utf-8\n")
    mon, rec = monitor([log], [NUMBERED])
    assert _peak(mon.poll_once) < 2 * MIB
    assert rec.values() == [1]
    assert [e.stage for e in rec.of("stage")] == []  # the line starts with garbage: not a stage line
    assert value(metrics(mon), "modelcache_log_bytes_total", log="webui") == os.path.getsize(log)


def test_a_10_mb_progress_line_keeps_its_final_state(tmp_path: Path) -> None:
    """A long download: one physical line of ~100,000 `\\r` updates; only its state matters."""
    states = [
        f"\rmodel.safetensors: {p:3d}%|{'#' * (p // 10):<10}| {p * 10}M/1000M [00:{p % 60:02d}<00:10, 99.0MB/s]"
        for p in range(100)
    ]
    log = tmp_path / "webui.log"
    with open(log, "wb") as fh:
        for _ in range(1500):
            fh.write("".join(states).encode())
        fh.write(b"\rmodel.safetensors: 100%|##########| 1000M/1000M [01:40<00:00, 99.0MB/s]\n")
    assert os.path.getsize(log) > 10 * MIB
    mon, rec = monitor([log])
    assert _peak(mon.poll_once) < 2 * MIB
    assert [(e.file, e.bytes_total, e.seconds) for e in rec.of("download_finished")] == [
        ("model.safetensors", 1_000_000_000, 100.0)
    ]
    assert value(metrics(mon), "modelcache_log_lines_truncated_total", log="webui") == 0


def _names(path: Path, first: int, last: int) -> None:
    with open(path, "a") as fh:  # one line per name never seen before, three kinds
        for i in range(first, last, 3):
            fh.write(f"shard-{i:06d}.bin: 100%|##########| 1.00k/1.00k [00:00<00:00, 1.00MB/s]\n")
            fh.write(f"Downloading 'f{i}.bin' to '/h/models--org{i}--m{i}/blobs/{i:040x}.incomplete'\n")
            fh.write(f"stuck-{i:06d}.bin:   0%|          | 0.00/1.00G [00:00<?, ?B/s]\n")


def test_100000_distinct_names_keep_labels_capped_and_memory_bounded(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    _names(log, 0, 50_001)
    mon, _ = monitor([log], max_repos=50)
    mon.emitter.listeners.clear()
    mon.emitter.wanted = frozenset()  # no listener: nothing is kept per event
    mon.poll_once()  # the first 50,000 names fill every cap
    _names(log, 50_001, 100_002)
    tracemalloc.start()
    mon.poll_once()  # 50,000 more names must not grow what is kept
    retained = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert retained < 1 * MIB
    text = metrics(mon)
    repos = {
        dict(labels)["repo"]
        for (name, labels), _ in samples(text).items()
        if name.startswith("modelcache_log_downloads_started")
    }
    assert len(repos) == 52 and {"(other)", "(unknown)"} <= repos
    started = sum(v for (name, _), v in samples(text).items() if name == "modelcache_log_downloads_started_total")
    assert started == 100_002
    assert value(text, "modelcache_log_downloads_in_progress", source="hf") == MAX_ACTIVE
    assert len(text) < 64 * 1024
