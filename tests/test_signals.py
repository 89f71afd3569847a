"""Signals to a real exporter process. SIGTERM: exit 0 at once, the ledger closed consistent, log positions
saved, so a restart neither loses nor repeats a line or a download. SIGHUP: the configuration read again and
applied while HTTP keeps serving, or, when it is invalid, one clear line and the old configuration kept."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests
from helpers import REPO_ROOT, Process, free_port, value, wait_for

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
FAST = ["--collector.cache.poll-interval", "200ms", "--collector.cache.scan-workers", "0"]


def write_lines(path: Path, first: int, last: int) -> None:
    with open(path, "a") as fh:
        fh.write("".join(f"line {n}\n" for n in range(first, last + 1)))


def rsync(dest: Path, data: bytes) -> None:
    """rsync's way: a hidden temporary file renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.Ab12Cd")
    tmp.write_bytes(data)
    os.rename(tmp, dest)


def counted(proc: Process, name: str, **labels: str) -> float:
    return proc.value(name, **labels) or 0.0


def test_sigterm_exits_0_with_the_ledger_and_log_positions_flushed(tmp_path: Path) -> None:
    tree, state, log = tmp_path / "hf_cache", tmp_path / "state", tmp_path / "webui.log"
    tree.mkdir()
    log.write_text("")
    args = ["--path.cache", str(tree), "--path.state", str(state), "--path.webui-log", str(log), *QUIET, *FAST]
    args += ["--collector.logs.position-interval", "1h"]  # only the stop saves positions
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hf_cache") == 1)
        write_lines(log, 1, 1000)
        rsync(tree / "bigvgan" / "bigvgan_generator.pt", b"\x01" * 5000)
        rsync(tree / "campplus_cn_common.bin", b"\x02" * 700)
        wait_for(lambda: counted(proc, "modelcache_log_lines_total", log="webui") == 1000)
        wait_for(lambda: counted(proc, "modelcache_downloads_total", root="hf_cache", reason="first") == 2)
        t0 = time.monotonic()
        code = proc.stop()
        took = time.monotonic() - t0
    assert code == 0 and took < 5.0, (code, took, proc.stderr)
    assert "shutting down" in proc.stderr and "Traceback" not in proc.stderr
    ledger = state / "ledger.sqlite"
    assert not Path(f"{ledger}-wal").exists() or Path(f"{ledger}-wal").stat().st_size == 0  # checkpointed, closed
    db = sqlite3.connect(ledger)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert sorted(db.execute("SELECT model, size FROM artifacts WHERE root='hf_cache'")) == [
        ("bigvgan", 5000),
        ("campplus_cn_common.bin", 700),
    ]
    assert db.execute("SELECT COUNT(*) FROM downloads WHERE reason='first'").fetchone() == (2,)
    db.close()
    saved = json.loads((state / "logs" / "positions.json").read_text())
    assert [p["offset"] for p in saved["sources"]["webui"]] == [log.stat().st_size]

    write_lines(log, 1001, 1500)  # written while the exporter was down
    with Process(args) as proc:
        wait_for(lambda: counted(proc, "modelcache_log_lines_total", log="webui") == 500)
        wait_for(lambda: proc.value("modelcache_ledger_artifacts", root="hf_cache") == 2)
        time.sleep(0.5)
        assert counted(proc, "modelcache_log_lines_total", log="webui") == 500  # 1000 + 500: none lost or repeated
        assert counted(proc, "modelcache_downloads_total", root="hf_cache", reason="first") == 0
        assert counted(proc, "modelcache_downloads_total", root="hf_cache", reason="redownload") == 0


def _fds(fd_dir: str) -> list[str]:
    """What each open descriptor of a process is (for the failure message)."""
    out = []
    for fd in sorted(os.listdir(fd_dir), key=int):
        try:
            out.append(f"{fd}->{os.readlink(os.path.join(fd_dir, fd))}")
        except OSError:
            continue
    return out


def _has_tracker(pid: int) -> bool:
    """Whether multiprocessing's resource tracker runs for the process: started with its first worker pool, it
    keeps one pipe open for the process's lifetime (not a leak)."""
    children = psutil.Process(pid).children()
    return any("resource_tracker" in " ".join(child.cmdline()) for child in children)


def test_sighup_reloads_the_configuration_while_serving(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "model.bin").write_bytes(b"\x01" * 1234)
    log, state, conf = tmp_path / "webui.log", tmp_path / "state", tmp_path / "exporter.yml"
    write_lines(log, 1, 100)
    first = f"roots:\n  - {{path: {tmp_path / 'a'}, name: a, layout: plain}}\nlogs:\n  - {{name: webui, path: {log}}}\n"
    conf.write_text(first)
    args = ["--config.file", str(conf), "--path.state", str(state), *QUIET, *FAST]
    with Process(args) as proc:
        wait_for(lambda: counted(proc, "modelcache_log_lines_total", log="webui") == 100)
        wait_for(lambda: proc.value("modelcache_index_ready", root="a") == 1)
        assert proc.value("modelcache_root_present", root="b") is None
        fds = len(os.listdir(f"/proc/{proc.proc.pid}/fd"))
        tracker_before = _has_tracker(proc.proc.pid)

        failures: list[str] = []
        stop = threading.Event()

        def scrape() -> None:  # a scraper all along: HTTP never stops answering
            while not stop.is_set():
                try:
                    requests.get(proc.url + "/metrics", timeout=5).raise_for_status()
                except requests.RequestException as exc:
                    failures.append(str(exc))
                time.sleep(0.02)

        scraper = threading.Thread(target=scrape)
        scraper.start()
        try:
            conf.write_text(
                f"roots:\n  - {{path: {tmp_path / 'a'}, name: a, layout: plain}}\n"
                f"  - {{path: {tmp_path / 'b'}, name: b, layout: plain}}\n"
                f"logs:\n  - {{name: webui, path: {log}}}\ncollector:\n  cache: {{max-models: 50}}\n"
            )
            proc.proc.send_signal(signal.SIGHUP)
            wait_for(
                lambda: (
                    proc.value("modelcache_model_size_bytes", root="b", repo="model.bin", repo_type="model") == 1234
                ),
                what="the new root to be indexed",
            )
            write_lines(log, 101, 150)  # the new exporter resumes where the old one saved its position
            wait_for(lambda: counted(proc, "modelcache_log_lines_total", log="webui") == 50)
            assert proc.value("modelcache_config_last_reload_successful") == 1

            good = conf.read_text()
            conf.write_text(good.replace("max-models", "max-modles"))  # a typo: refused
            proc.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: proc.value("modelcache_config_last_reload_successful") == 0)
            assert proc.value("modelcache_root_present", root="b") == 1  # the old configuration is in force
            conf.write_text(good.replace(f"{tmp_path / 'b'}, name: b", f"{tmp_path / 'b'}, name: bee"))
            proc.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: proc.value("modelcache_config_last_reload_successful") == 1)
            wait_for(lambda: proc.value("modelcache_root_present", root="bee") == 1)
            assert proc.value("modelcache_root_present", root="b") is None
        finally:
            stop.set()
            scraper.join()
        assert failures == []
        # the verification of the new root runs in a worker process (its pipes open) until its pass is done
        wait_for(lambda: proc.value("modelcache_verify_progress_ratio", root="bee") == 1, 30)
        fd_dir = f"/proc/{proc.proc.pid}/fd"
        # a stopped pass's worker (niced) may take seconds to exit on a loaded machine; a leak never does
        allowed = fds + (0 if tracker_before else int(_has_tracker(proc.proc.pid)))
        wait_for(lambda: len(os.listdir(fd_dir)) <= allowed, 30, what=f"no descriptor leaked (open: {_fds(fd_dir)})")
        code = proc.stop()
    assert code == 0
    reload_errors = [line for line in proc.stderr.splitlines() if "configuration reload failed" in line]
    assert len(reload_errors) == 1 and "unknown setting 'collector.cache.max-modles'" in reload_errors[0]
    assert proc.stderr.count("configuration reloaded") == 2


def test_sighup_with_a_changed_listen_address_keeps_the_socket_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    conf = tmp_path / "exporter.yml"
    conf.write_text(f"web: {{listen-address: '127.0.0.1:{port}'}}\nroots: [{{path: {tmp_path}, name: t}}]\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelcache_exporter", "--config.file", str(conf), *QUIET],
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_for(lambda: _get(url) is not None, 20)
        loaded = value(_get(url) or "", "modelcache_config_last_reload_success_timestamp_seconds")
        conf.write_text(f"web: {{listen-address: '127.0.0.1:{free_port()}'}}\nroots: [{{path: {tmp_path}, name: t}}]\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: value(_get(url) or "", "modelcache_config_last_reload_success_timestamp_seconds") != loaded)
        assert value(_get(url) or "", "modelcache_config_last_reload_successful") == 1  # served where it was
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
        err = proc.stderr.read() if proc.stderr else ""
    assert code == 0
    assert "--web.listen-address changed; a restart applies it" in err, err


def _get(url: str) -> str | None:
    try:
        r = requests.get(url, timeout=2)
        return r.text if r.status_code == 200 else None
    except requests.RequestException:
        return None
