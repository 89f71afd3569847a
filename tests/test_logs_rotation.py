"""A truncated or replaced log whose old content was kept next to it is a rotation, not a start
(modelcache_exporter/logs/tail/rotation.py): real files, the monitor's rounds run by hand."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from helpers import value
from logtools import SAMPLES, metrics, monitor

from modelcache_exporter.logs.monitor import LogMonitor

WARM = SAMPLES["warm"].read_bytes()


def serving(tmp_path: Path) -> tuple[Path, LogMonitor]:
    """A web UI that started (the warm sample written live) and serves, idle."""
    log = tmp_path / "webui.log"
    log.write_bytes(b"")
    mon, _ = monitor([log])
    mon.poll_once(now=1.0)
    log.write_bytes(WARM)
    mon.poll_once(now=2.0)
    assert mon.load.ready and not mon.load.loading
    return log, mon


def after(mon: LogMonitor, log: Path) -> tuple[bool, bool, float | None, float | None]:
    """One more round: (loading, ready, restarts, truncations + rotations)."""
    mon.poll_once(now=3.0)
    text = metrics(mon)
    resets = (value(text, "modelcache_log_truncations_total", log="webui") or 0) + (
        value(text, "modelcache_log_rotations_total", log="webui") or 0
    )
    return mon.load.loading, mon.load.ready, value(text, "modelcache_webui_restarts_total"), resets


def test_copytruncate_with_the_copy_next_to_the_log_is_no_load(tmp_path: Path) -> None:
    log, mon = serving(tmp_path)
    shutil.copyfile(log, tmp_path / "webui.log.1")  # logrotate copytruncate: copy, then truncate
    os.truncate(log, 0)
    assert after(mon, log) == (False, True, 0, 1)


def test_copytruncate_with_a_gzip_copy_is_no_load(tmp_path: Path) -> None:
    log, mon = serving(tmp_path)
    with gzip.open(tmp_path / "webui.log-20250101.gz", "wb") as fh:  # compressed before the next poll
        fh.write(log.read_bytes())
    os.truncate(log, 0)
    assert after(mon, log) == (False, True, 0, 1)


def test_rename_rotation_is_no_load(tmp_path: Path) -> None:
    log, mon = serving(tmp_path)
    log.rename(tmp_path / "webui.log.1")  # logrotate create, Docker json-file
    log.write_bytes(b"")
    assert after(mon, log) == (False, True, 0, 1)


def test_truncation_without_a_copy_starts_a_load(tmp_path: Path) -> None:
    """`python webui.py > webui.log`; an old copy of an earlier start has the same first lines, not the
    same content at the offset read, so it is no evidence."""
    log, mon = serving(tmp_path)
    (tmp_path / "webui.log.1").write_bytes(WARM[:-40] + b"x" * 40)
    os.truncate(log, 0)
    assert after(mon, log) == (True, False, 0, 1)  # tentative: no restart counted yet


def test_delete_and_recreate_starts_a_load(tmp_path: Path) -> None:
    log, mon = serving(tmp_path)
    log.unlink()
    mon.poll_once(now=2.5)
    log.write_bytes(b"")
    assert after(mon, log) == (True, False, 0, 1)
