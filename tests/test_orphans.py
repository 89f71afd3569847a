"""A worker process does not outlive the exporter that started it: killed with SIGKILL (no shutdown reaches
its workers), the exporter's worker in the middle of a long part ends within a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PARENT = """
import os, sys, time
from modelcache_exporter.index import offproc
pool = offproc.spawn_pool(1)
pid = pool.submit(os.getpid).result(60)
pool.submit(time.sleep, 300)  # a long part, under way when the parent dies
print(pid, flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_ends_when_its_exporter_is_killed() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=env)
    worker = 0
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        time.sleep(0.5)
        assert _alive(worker)  # started, and busy with its part
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived its exporter"
    finally:
        parent.kill()
        parent.wait(10)
        if worker and _alive(worker):  # failed: not left sleeping for minutes
            os.kill(worker, signal.SIGKILL)
