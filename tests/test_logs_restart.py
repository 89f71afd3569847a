"""Restarts of the log tailer after a crash: at-least-once, at most `--collector.logs.position-interval`
(1 s) of lines read twice, and a file rotated while the exporter was down is finished, not lost."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from helpers import Process, wait_for
from logtools import NUMBERED, monitor, write_lines

from modelcache_exporter.logs.tail.follow import Chunk
from modelcache_exporter.logs.tail.positions import PositionStore
from modelcache_exporter.logs.tail.tailer import FileTailer, Reader

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe", "--no-collector.cache"]
RATE, BURST = 200, 20  # lines per second, written BURST at a time (one chunk)


def _args(tmp_path: Path, log: Path) -> list[str]:
    state = tmp_path / "state"
    return ["--path.cache", str(tmp_path), "--path.state", str(state), "--path.webui-log", str(log), *QUIET]


def _lines(proc: Process) -> int:
    return int(proc.value("modelcache_log_lines_total", log="webui") or 0)


def _append(path: Path, first: int, count: int) -> int:
    with open(path, "a") as fh:
        fh.write("".join(f"line {n}\n" for n in range(first, first + count)))
    return first + count


def _settled(proc: Process, at_least: int) -> int:
    """The line count once it reached `at_least` and stopped moving."""
    wait_for(lambda: _lines(proc) >= at_least, 15, what=f"{at_least} lines counted")
    before = -1
    while (now := _lines(proc)) != before:
        before = now
        time.sleep(0.6)
    return now


def test_sigkill_under_load_rereads_at_most_one_second_of_lines(tmp_path: Path) -> None:
    log, positions = tmp_path / "webui.log", tmp_path / "state" / "logs" / "positions.json"
    log.write_text("line 0\n")
    with Process(_args(tmp_path, log)) as proc:
        wait_for(lambda: positions.exists(), 10, what="the first save of positions")  # writing starts after it
        n, end = 1, time.monotonic() + 3.0
        while time.monotonic() < end:
            n = _append(log, n, BURST)
            time.sleep(BURST / RATE)
        wait_for(lambda: _lines(proc) == n, 5, what=f"{n} lines counted")
        proc.proc.kill()  # SIGKILL: no save on the way out
        proc.proc.wait(5)
        proc.stop()
    written_while_down = 100
    _append(log, n, written_while_down)
    with Process(_args(tmp_path, log)) as proc:
        again = _settled(proc, written_while_down) - written_while_down
    print(f"counted twice after SIGKILL: {again}")
    assert 0 <= again <= RATE + BURST, f"{again} lines counted twice after a SIGKILL (at most 1 s worth allowed)"


def test_file_rotated_while_down_is_finished_then_the_new_one_read(tmp_path: Path) -> None:
    log, positions = tmp_path / "webui.log", tmp_path / "state" / "logs" / "positions.json"
    n = _append(log, 1, 300)
    with Process(_args(tmp_path, log)) as proc:
        wait_for(lambda: _lines(proc) == 300, 10, what="300 lines counted")

        def saved() -> bool:
            try:
                return [p["offset"] for p in json.loads(positions.read_text())["sources"]["webui"]] == [
                    log.stat().st_size
                ]
            except (OSError, ValueError, KeyError):
                return False

        wait_for(saved, 10, what="the position of the whole file saved")
        proc.proc.kill()
        proc.proc.wait(5)
        proc.stop()
    n = _append(log, n, 50)  # the app wrote on before the rotation
    os.rename(log, f"{log}.1")
    n = _append(log, n, 70)  # the new file
    with Process(_args(tmp_path, log)) as proc:
        assert _settled(proc, 120) == 120  # 50 from the rotated file, 70 from the new: each once
        assert proc.value("modelcache_log_rotations_total", log="webui") == 1


def test_rotated_while_down_is_read_in_order_even_without_backlog(tmp_path: Path) -> None:
    log, state = tmp_path / "webui.log", tmp_path / "state"
    write_lines(log, 1, 40)
    first, _ = monitor([log], [NUMBERED], state=state)
    first.poll_once()
    first.save_positions()  # what the periodic save left; then a crash (no stop)
    write_lines(log, 41, 60)
    os.rename(log, tmp_path / "webui.log.1")
    write_lines(log, 61, 75)
    second, rec = monitor([log], [NUMBERED], state=state, read_backlog=False)
    second.poll_once()
    assert rec.values() == list(range(41, 76))
    second.stop()
    for f in first.runners:
        f.tailer.close()


def test_a_retired_file_position_is_saved_and_resumed_after_a_crash(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 10)
    tailer = FileTailer(str(log), 65536, True, rotate_wait=60.0)
    sink = _Lines()
    tailer.poll(0.0, sink)
    os.rename(log, tmp_path / "webui.log.1")
    write_lines(log, 1, 5)
    tailer.poll(1.0, sink)  # the old file is retired (still drained), the new one read
    store = PositionStore(str(tmp_path / "positions.json"))
    assert store.save({"webui": tailer.positions()})
    tailer.close()  # a crash: the rest of the retired file is written afterwards
    with open(tmp_path / "webui.log.1", "a") as fh:
        fh.write("late 1\nlate 2\n")
    again = FileTailer(str(log), 65536, True, rotate_wait=0.0, saved=store.load()["webui"])
    sink2 = _Lines()
    again.poll(2.0, sink2)
    assert sink2.lines == [b"late 1", b"late 2"]
    again.close()


def test_a_save_is_cheap_and_skipped_when_nothing_changed(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 10)
    tailer = FileTailer(str(log), 65536, True, rotate_wait=0.0)
    tailer.poll(0.0, _Lines())
    store = PositionStore(str(tmp_path / "logs" / "positions.json"))
    assert store.save({"webui": tailer.positions()})
    mtime = os.stat(store.path).st_mtime_ns
    t0 = time.perf_counter()
    for _ in range(100):
        assert store.save({"webui": tailer.positions()})  # unchanged: no write
    unchanged = (time.perf_counter() - t0) / 100
    assert os.stat(store.path).st_mtime_ns == mtime
    changed = 0.0
    for i in range(100):
        write_lines(log, 11 + i, 11 + i)
        tailer.poll(1.0 + i, _Lines())
        t0 = time.perf_counter()
        assert store.save({"webui": tailer.positions()})
        changed += (time.perf_counter() - t0) / 100
    assert json.loads(Path(store.path).read_text())["sources"]["webui"][0]["offset"] == log.stat().st_size
    assert os.listdir(os.path.dirname(store.path)) == ["positions.json"]  # no temporary file left
    print(f"save: {unchanged * 1e6:.0f} us unchanged, {changed * 1e6:.0f} us written")
    assert unchanged < 0.005 and changed < 0.05, (unchanged, changed)
    tailer.close()


class _Lines:
    """A tailer sink that keeps the lines."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def chunk(self, reader: Reader, chunk: Chunk) -> None:
        self.lines.extend(chunk.lines)

    def idle(self, reader: Reader, now: float) -> None:
        return None

    def notice(self, kind: str, when: float, kept: bool) -> None:
        return None

    def failure(self, path: str, error: OSError) -> None:
        raise AssertionError(error)
