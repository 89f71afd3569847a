"""The web UI process and its readiness, watched from a background thread.

Process: the OLDEST process whose command line matches the configured pattern (so `uv run
webui.py` counts from the launcher's start), other than this exporter and its ancestors; its
start time (psutil `create_time`) starts a load. Visible in the same container or with a shared
PID namespace only. Readiness: an HTTP GET with `requests` (proxies from the environment ignored);
any status below 400 is ready, and the time the successful request was SENT ends the load.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable

import psutil

from modelcache_exporter.base.log import kv

log = logging.getLogger(__name__)


def own_lineage() -> set[int]:
    """This process and its ancestors (their command lines may contain the pattern)."""
    pids = {os.getpid()}
    with contextlib.suppress(psutil.Error):
        pids |= {p.pid for p in psutil.Process().parents()}
    return pids


def boot_offset() -> float:
    """Correction for psutil's `create_time` on Linux, which adds process ticks to /proc/stat's
    whole-second `btime` (measured 0.2 s early here, up to 1 s): the boot time from
    CLOCK_BOOTTIME minus psutil's. 0 where that clock does not exist."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is None:
        return 0.0
    try:
        return (time.time() - time.clock_gettime(clock)) - psutil.boot_time()
    except (OSError, psutil.Error):
        return 0.0


def find_process(pattern: re.Pattern[str], exclude: set[int]) -> tuple[int, float] | None:
    """(pid, start time) of the oldest matching process, or None."""
    best: tuple[float, int] | None = None
    for proc in psutil.process_iter(["cmdline", "create_time"]):
        try:
            cmdline = proc.info.get("cmdline") or []
            started = proc.info.get("create_time")
        except psutil.Error:
            continue
        if proc.pid in exclude or started is None or not pattern.search(" ".join(cmdline)):
            continue
        if best is None or (started, proc.pid) < best:
            best = (started, proc.pid)
    return (best[1], best[0] + boot_offset()) if best else None


class ReadinessProbe:
    """One HTTP GET per call."""

    def __init__(self, url: str, timeout: float) -> None:
        import requests  # only when a readiness URL is configured: the library costs ~14 MiB of RSS

        self.url, self.timeout, self._errors = url, timeout, requests.RequestException
        self.session = requests.Session()
        self.session.trust_env = False
        self.last_error = ""

    def __call__(self) -> bool:
        """True when the app answered with a status below 400."""
        try:
            with self.session.get(self.url, timeout=self.timeout, stream=True) as resp:
                ok = resp.status_code < 400
                error = "" if ok else f"HTTP {resp.status_code}"
        except self._errors as exc:
            ok, error = False, type(exc).__name__
        if error != self.last_error:
            log.debug("web UI readiness probe", extra=kv(url=self.url, ok=ok, err=error or "none"))
            self.last_error = error
        return ok


class WebuiWatcher:
    """Runs the process check and the probe every `interval` seconds and reports to callbacks."""

    def __init__(
        self,
        pattern: str,
        url: str,
        interval: float,
        timeout: float,
        on_process: Callable[[tuple[int, float] | None, float, float], None],
        on_probe: Callable[[bool, float], None],
    ) -> None:
        self.pattern = re.compile(pattern) if pattern else None
        self.probe = ReadinessProbe(url, timeout) if url else None
        self.interval = interval
        self.on_process, self.on_probe = on_process, on_probe
        self.started = time.time()
        self.exclude = own_lineage()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webui-watch", daemon=True)

    def check_once(self) -> None:
        """One round: process, then probe (so a start is always seen before the ready it causes)."""
        if self.pattern is not None:
            try:
                found = find_process(self.pattern, self.exclude)
            except psutil.Error as exc:
                log.warning("cannot list processes", extra=kv(err=exc))
                found = None
            self.on_process(found, self.started, time.time())
        if self.probe is not None:
            sent = time.time()
            self.on_probe(self.probe(), sent)

    def _run(self) -> None:
        while not self._halt.is_set():
            t0 = time.monotonic()
            try:
                self.check_once()
            except Exception:
                log.exception("web UI watcher failed; retrying")
            self._halt.wait(max(0.0, self.interval - (time.monotonic() - t0)))

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (waits for at most one probe timeout)."""
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(self.probe.timeout + 1.0 if self.probe else 1.0)
