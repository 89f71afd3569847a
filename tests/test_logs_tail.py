"""Tailing done for real on files of numbered lines: rotation, truncation, deletion, symlinks,
partial lines, restarts. Every test checks that each line is seen exactly once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import value
from logtools import NUMBERED, monitor, write_lines

from modelcache_exporter.logs.tail.follow import Position
from modelcache_exporter.logs.tail.positions import PositionStore


def test_rename_rotation_finishes_the_old_file_then_follows_the_new(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 100)
    mon, rec = monitor([log], [NUMBERED], rotate_wait=60.0)
    mon.poll_once()
    os.rename(log, tmp_path / "webui.log.1")
    write_lines(tmp_path / "webui.log.1", 101, 110)  # the writer still holds the old file
    write_lines(log, 111, 200, "w")
    mon.poll_once()
    write_lines(tmp_path / "webui.log.1", 201, 205)  # late writes within rotate-wait are still read
    write_lines(log, 206, 250)
    mon.poll_once()
    assert rec.values() == list(range(1, 251))
    text = _text(mon)
    assert value(text, "modelcache_log_rotations_total", log="webui") == 1
    assert value(text, "modelcache_log_lines_total", log="webui") == 250


def test_copytruncate_that_regrows_past_the_old_offset_is_detected(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 100)
    mon, rec = monitor([log], [NUMBERED])
    mon.poll_once()
    shutil.copyfile(log, tmp_path / "webui.log.1")
    os.truncate(log, 0)
    write_lines(log, 101, 400)  # larger than before the truncation: size alone cannot tell
    mon.poll_once()
    write_lines(log, 401, 410)
    mon.poll_once()
    assert rec.values() == list(range(1, 411))
    assert value(_text(mon), "modelcache_log_truncations_total", log="webui") == 1


def test_copytruncate_to_a_smaller_file(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 100)
    mon, rec = monitor([log], [NUMBERED])
    mon.poll_once()
    with open(log, "r+") as fh:
        fh.truncate(0)
    write_lines(log, 101, 105)
    mon.poll_once()
    assert rec.values() == list(range(1, 106))


def test_delete_and_recreate(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 50)
    mon, rec = monitor([log], [NUMBERED])
    mon.poll_once()
    log.unlink()
    mon.poll_once()
    mon.poll_once()
    assert value(_text(mon), "modelcache_log_files", log="webui") == 0
    write_lines(log, 51, 80, "w")
    mon.poll_once()
    assert rec.values() == list(range(1, 81))
    assert value(_text(mon), "modelcache_log_rotations_total", log="webui") == 1


def test_symlink_switch(tmp_path: Path) -> None:
    a, b, log = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "webui.log"
    write_lines(a, 1, 30)
    log.symlink_to(a)
    mon, rec = monitor([log], [NUMBERED], rotate_wait=60.0)
    mon.poll_once()
    write_lines(b, 41, 60, "w")
    write_lines(a, 31, 40)
    tmp = tmp_path / "new-link"
    tmp.symlink_to(b)
    os.replace(tmp, log)  # atomic switch, as deployment tools do it
    mon.poll_once()
    assert rec.values() == list(range(1, 61))


def test_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    log = tmp_path / "later" / "webui.log"
    mon, rec = monitor([log], [NUMBERED])
    mon.poll_once()
    assert value(_text(mon), "modelcache_log_files", log="webui") == 0
    log.parent.mkdir()
    write_lines(log, 1, 10, "w")
    mon.poll_once()
    assert rec.values() == list(range(1, 11))


def test_partial_last_line_is_held_until_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    log.write_bytes(b"line 1\nline 2\nli")
    mon, rec = monitor([log], [NUMBERED])
    mon.poll_once()
    assert rec.values() == [1, 2]
    with open(log, "ab") as fh:
        fh.write(b"ne 3\nline 4")
    mon.poll_once()
    assert rec.values() == [1, 2, 3]
    with open(log, "ab") as fh:
        fh.write(b"\n")
    mon.poll_once()
    assert rec.values() == [1, 2, 3, 4]


def test_exporter_restart_mid_file_neither_loses_nor_repeats_lines(tmp_path: Path) -> None:
    log, state = tmp_path / "webui.log", tmp_path / "state"
    write_lines(log, 1, 500)
    with open(log, "a") as fh:
        fh.write("line 50")  # a partial line at the stop: read again after the restart
    first, rec1 = monitor([log], [NUMBERED], state=state)
    first.poll_once()
    first.stop()
    lines_before = value(_text(first), "modelcache_log_lines_total", log="webui")
    with open(log, "a") as fh:
        fh.write("1\n")
    write_lines(log, 502, 900)
    second, rec2 = monitor([log], [NUMBERED], state=state)
    second.poll_once()
    assert rec1.values() == list(range(1, 501))
    assert rec2.values() == list(range(501, 901))
    assert lines_before + value(_text(second), "modelcache_log_lines_total", log="webui") == 900
    second.stop()


def test_restart_after_the_file_was_replaced_while_down(tmp_path: Path) -> None:
    log, state = tmp_path / "webui.log", tmp_path / "state"
    write_lines(log, 1, 20)
    first, _ = monitor([log], [NUMBERED], state=state)
    first.poll_once()
    first.stop()
    log.unlink()
    write_lines(log, 21, 30, "w")
    second, rec = monitor([log], [NUMBERED], state=state)
    second.poll_once()
    assert rec.values() == list(range(21, 31))


def test_restart_after_truncation_while_down(tmp_path: Path) -> None:
    log, state = tmp_path / "webui.log", tmp_path / "state"
    write_lines(log, 1, 200)
    first, _ = monitor([log], [NUMBERED], state=state)
    first.poll_once()
    first.stop()
    os.truncate(log, 0)
    write_lines(log, 201, 600)
    second, rec = monitor([log], [NUMBERED], state=state)
    second.poll_once()
    assert rec.values() == list(range(201, 601))


def test_glob_keeps_a_renamed_file_and_does_not_read_it_twice(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 100)
    mon, rec = monitor([tmp_path / "webui.log*"], [NUMBERED])
    mon.poll_once()
    os.rename(log, tmp_path / "webui.log.1")
    write_lines(tmp_path / "webui.log.1", 101, 120)
    write_lines(log, 121, 150, "w")
    (tmp_path / "webui.log.2.gz").write_bytes(b"\x1f\x8b compressed, skipped\n")
    mon.poll_once()
    assert sorted(rec.values()) == list(range(1, 151))
    assert len(rec.values()) == 150


def test_start_at_end_when_the_backlog_is_not_wanted(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 10)
    with open(log, "a") as fh:
        fh.write("line 1")
    mon, rec = monitor([log], [NUMBERED], read_backlog=False)
    mon.poll_once()
    with open(log, "a") as fh:
        fh.write("1\nline 12\n")
    mon.poll_once()
    assert rec.values() == [11, 12]  # the backlog is skipped; the line being written is read whole


def test_positions_file_is_atomic_and_survives_garbage(tmp_path: Path) -> None:
    store = PositionStore(str(tmp_path / "logs" / "positions.json"))
    pos = Position("/x.log", 1, 2, 30, "ab", 3, "0a")
    assert store.save({"webui": [pos]})
    assert store.load() == {"webui": [pos]}
    assert [p.name for p in (tmp_path / "logs").iterdir()] == ["positions.json"]
    (tmp_path / "logs" / "positions.json").write_text("{not json")
    assert store.load() == {}


def test_unreadable_file_is_counted_and_reading_continues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 5)
    mon, rec = monitor([log], [NUMBERED])
    real_open = os.open

    def denied(path: str, flags: int, *args: int) -> int:
        if str(path) == str(log):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    mon.poll_once()
    mon.poll_once()  # the same failure is counted once
    assert value(_text(mon), "modelcache_log_read_errors_total", log="webui") == 1
    monkeypatch.setattr(os, "open", real_open)
    mon.poll_once()
    assert rec.values() == [1, 2, 3, 4, 5]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    write_lines(log, 1, 5)
    log.chmod(0)
    mon, _ = monitor([log], [NUMBERED])
    mon.poll_once()
    assert value(_text(mon), "modelcache_log_read_errors_total", log="webui") == 1


def _text(mon: object) -> str:
    from logtools import metrics

    return metrics(mon)  # type: ignore[arg-type]
