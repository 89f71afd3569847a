"""Test helpers: the exporter in-process or as a real process, waiting, metric parsing, tree digests."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

REPO_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(fn: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """Call `fn` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or fn}")
        time.sleep(interval)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Parse exposition text into {(sample name, labels): value}."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    """One sample's value from exposition text (None when absent)."""
    return samples(text).get((name, frozenset(labels.items())))


def require_tool(name: str) -> str:
    """Path of a command-line tool; skips locally when missing, fails in CI (which installs it)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (.ci/run installs it)")
        pytest.skip(f"{name} not installed")
    return path


class InProcess:
    """The exporter's threads and registry in this process (no HTTP)."""

    def __init__(self, args: Sequence[str], **kwargs: Any) -> None:
        from modelcache_exporter.app import Exporter
        from modelcache_exporter.config.parser import parse

        self.cfg = parse(list(args), environ={})
        self.exporter = Exporter(self.cfg, **kwargs)
        self.registry = self.exporter.registry

    def __enter__(self) -> InProcess:
        self.exporter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.exporter.stop()

    def get(self, name: str, **labels: str) -> float | None:
        """A sample's current value, straight from the registry."""
        return self.registry.get_sample_value(name, labels)

    def text(self) -> str:
        """The exposition text a scrape would get."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode()

    def wait(self, name: str, expected: Callable[[float | None], bool], timeout: float = 10.0, **labels: str) -> float:
        """Wait until a sample satisfies `expected`; return its value."""
        found: list[float | None] = []

        def check() -> bool:
            found[:] = [self.get(name, **labels)]
            return expected(found[0])

        wait_for(check, timeout, what=f"{name}{labels} (last value {found})")
        return float(found[0] or 0.0)


class Process:
    """The exporter as a real process, started like the README does, on a free port."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str] | None = None, unprivileged: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = dict(os.environ if env is None else env)
        base.setdefault("PYTHONPATH", str(REPO_ROOT))
        cmd = [sys.executable, "-m", "modelcache_exporter", f"--web.listen-address=127.0.0.1:{self.port}", *args]
        if unprivileged and os.geteuid() == 0:  # root ignores permission bits unless these are dropped
            cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
        self.proc = subprocess.Popen(
            cmd, env=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO_ROOT)
        )
        self.stderr = ""

    def __enter__(self) -> Process:
        def up() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"exporter exited with {self.proc.returncode}: {self.proc.stderr.read()}")  # type: ignore
            try:
                return requests.get(self.url + "/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, 20, what="the exporter to answer /healthz")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def metrics(self) -> str:
        """GET /metrics."""
        r = requests.get(self.url + "/metrics", timeout=5)
        r.raise_for_status()
        return r.text

    def value(self, name: str, **labels: str) -> float | None:
        """One sample from a fresh scrape."""
        return value(self.metrics(), name, **labels)

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            self.stderr = self.proc.stderr.read()
            self.proc.stderr.close()
            assert self.proc.stdout is not None
            self.proc.stdout.close()
        return self.proc.returncode


def tree_digest(top: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under `top`: type, size, mtime_ns, mode, link target, content hash of files."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames]:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, top)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p), st.st_mtime_ns)
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode, st.st_mtime_ns)
            else:
                with open(p, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
                out[rel] = ("file", st.st_size, st.st_mode, st.st_mtime_ns, digest)
    return out
