"""Start and stop exporter (and node_exporter) processes for the benchmarks; read their footprint."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None) -> bytes:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


class Exporter:
    """Our exporter on one cache root, on a free loopback port."""

    def __init__(self, root: str, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = tempfile.mkdtemp(prefix="modelcache-bench-state-")
        cmd = [
            sys.executable,
            "-m",
            "modelcache_exporter",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--path.cache",
            root,
            "--path.state",
            self.state,
            *extra,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": REPO},
            start_new_session=True,  # its own process group: `freeze` stops its worker processes with it
        )
        self.frozen = False

    def metrics(self) -> str:
        return get(self.url + "/metrics", {"Accept": "text/plain"}).decode()

    def wait_for(self, needle: str, timeout: float = 600) -> float:
        """Seconds until `needle` appears in /metrics."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                if needle in self.metrics():
                    return time.monotonic() - t0
            except OSError:
                pass
            if self.proc.poll() is not None:  # e.g. its port was taken between free_port() and its bind
                raise RuntimeError(f"the exporter exited with {self.proc.returncode} before {needle}")
            time.sleep(0.1)
        raise TimeoutError(needle)

    def status(self, field: str) -> float:
        """A VmRSS-style field of /proc/PID/status, in MiB."""
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        raise KeyError(field)

    def cpu_seconds(self) -> float:
        """utime + stime of the process so far."""
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def freeze(self) -> None:
        """Stop the exporter and its worker processes (SIGSTOP to its process group): it uses no CPU until
        `thaw`, and its state (index, ledger, a reconciliation half done) stays as it was."""
        os.killpg(self.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        """Let a frozen exporter and its workers run on (SIGCONT)."""
        os.killpg(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        if self.frozen:
            self.thaw()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # its worker processes too
            self.proc.wait()
        shutil.rmtree(self.state, ignore_errors=True)


class NodeExporter:
    """Debian's prometheus-node-exporter with its defaults, on loopback."""

    BIN = "/usr/bin/prometheus-node-exporter"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [self.BIN, f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                get(self.url + "/metrics")
                return
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
