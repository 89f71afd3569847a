"""A fake web UI whose stdout is block-buffered (redirected to a file) and whose progress bars are
hidden (tqdm with disable=None on a non-TTY stderr, as huggingface_hub does): the exporter still
gets the load time within 1 s of the truth, from the process start time plus the readiness probe."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import InProcess, free_port, value, wait_for

FAKE = """
import http.server, os, sys, time
from tqdm import tqdm

port, ready_file, stop_file, delay = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
print(">> GPT weights restored from: ./checkpoints/gpt.pth")  # stdout: block-buffered into the file
for _ in tqdm(range(4), desc="model.safetensors", unit="B", disable=None):  # hidden: stderr is no TTY
    time.sleep(delay / 8)
time.sleep(delay / 2)
print(">> bpe model loaded from: ./checkpoints/bpe.model")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", port), Handler)
with open(ready_file, "w") as fh:
    fh.write(repr(time.time()))
print("* Running on local URL:  http://127.0.0.1:%d" % port)
server.timeout = 0.05
while not os.path.exists(stop_file):
    server.handle_request()
"""


class FakeWebui:
    """The fake web UI process, started with its output redirected to `log`."""

    def __init__(self, tmp_path: Path, name: str, port: int, delay: float) -> None:
        self.script = tmp_path / name
        self.script.write_text(FAKE)
        self.ready_file, self.stop_file = tmp_path / f"{name}.ready", tmp_path / f"{name}.stop"
        self.port, self.delay, self.log = port, delay, tmp_path / "webui.log"

    def start(self) -> float:
        """Launch (the shell-like `>` truncates the log); returns the time just before the start."""
        self.ready_file.unlink(missing_ok=True)
        self.stop_file.unlink(missing_ok=True)
        out = open(self.log, "wb")  # noqa: SIM115 - handed to the child
        began = time.time()
        args = [str(self.port), str(self.ready_file), str(self.stop_file), str(self.delay)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # block-buffered, as by default
        cmd = [sys.executable, str(self.script), *args]
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        out.close()
        return began

    def truth(self, began: float) -> float:
        """Seconds from the process start to the moment it listened."""
        written = wait_for(  # the fake creates the file, then writes it: wait for its content
            lambda: self.ready_file.exists() and self.ready_file.read_text(), timeout=20, what="fake web UI ready"
        )
        return float(written) - began

    def stop(self) -> None:
        """Exit normally (the buffered stdout is flushed now, long after the load)."""
        self.stop_file.touch()
        self.proc.wait(timeout=10)

    def kill(self) -> None:
        """After a failed test: end the process this test started, by its id."""
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeWebui]:
    name = f"fake_webui_{uuid.uuid4().hex[:8]}.py"  # unique: no other process matches the pattern
    web = FakeWebui(tmp_path, name, free_port(), delay=1.5)
    yield web
    web.kill()


def test_buffered_hidden_bars_load_time_from_process_start_and_probe(tmp_path: Path, fake: FakeWebui) -> None:
    args = [
        "--path.webui-log", str(fake.log),
        "--collector.webui.process-pattern", fake.script.name.replace(".", r"\."),
        "--collector.webui.ready-url", f"http://127.0.0.1:{fake.port}/",
        "--collector.webui.interval", "0.1s",
        "--collector.logs.poll-interval", "0.05s",
        "--path.state", str(tmp_path / "state"),
        "--path.cache", str(tmp_path / "nocache"),
        "--no-collector.cache", "--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe",
    ]  # fmt: skip
    with InProcess(args) as ex:
        time.sleep(0.3)  # the watcher has looked once: the fake starts while we watch
        began = fake.start()
        ex.wait("modelcache_webui_loading", lambda v: v == 1)
        truth = fake.truth(began)
        ex.wait("modelcache_webui_loads_total", lambda v: v == 1)
        measured = ex.get("modelcache_webui_last_load_duration_seconds")
        assert measured is not None and abs(measured - truth) < 1.0, (measured, truth)
        assert fake.log.read_bytes().count(b">>") == 0  # stdout still sits in the child's buffer
        assert ex.get("modelcache_webui_ready") == 1
        fake.stop()  # the buffered `>>` and ready lines arrive now: late, not a new load
        ex.wait("modelcache_log_lines_matched_total", lambda v: v == 2, log="webui", profile="indextts2")
        ex.wait("modelcache_webui_ready", lambda v: v == 0)
        began = fake.start()  # a restart
        truth = fake.truth(began)
        ex.wait("modelcache_webui_loads_total", lambda v: v == 2)
        text = ex.text()
        fake.stop()
    second = value(text, "modelcache_webui_last_load_duration_seconds")
    assert second is not None and abs(second - truth) < 1.0, (second, truth)
    assert value(text, "modelcache_webui_restarts_total") == 1
    assert value(text, "modelcache_webui_load_duration_seconds_count") == 2
    assert value(text, "modelcache_webui_stdout_buffered") == 1
    assert value(text, "modelcache_log_downloads_started_total", source="hf", repo="(unknown)") is None
