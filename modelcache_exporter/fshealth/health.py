"""Per-root filesystem sampling off the scrape path: statvfs, mount, storage class, device, probe.

Each root has one sampler thread. A statvfs on a dead network mount can block forever; the thread
then stays blocked (no new thread is started per attempt, so nothing leaks) and the collector sees
a sample in flight for longer than the timeout and reports the error. A scrape never waits.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.rootconfig import RootConfig
from modelcache_exporter.fshealth.diskstats import device_for_mount
from modelcache_exporter.fshealth.fsinfo import Mount, ephemeral_reason, existing_ancestor, find_mount, parse_mountinfo
from modelcache_exporter.fshealth.probe import Histogram, run_probe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FsSample:
    """One sample of a root's filesystem; `error` is '' when statvfs succeeded."""

    time: float = 0.0
    error: str = ""
    mount: Mount | None = None
    size_bytes: int = 0
    avail_bytes: int = 0
    free_bytes: int = 0
    files: int = 0
    files_free: int = 0
    readonly: bool = False
    ephemeral: str = ""
    device: tuple[str, tuple[str, ...]] | None = None


@dataclass
class ProbeState:
    """Results of the active probe for one root."""

    directory: str = ""
    enabled: bool = False
    histogram: Histogram = field(default_factory=Histogram)
    errors: int = 0
    skipped_reason: str = "not yet run"


def sample_fs(path: str, procfs: str, sysfs: str, statvfs: Callable[[str], os.statvfs_result]) -> FsSample:
    """statvfs plus mount facts for the filesystem holding `path` (or its nearest existing parent)."""
    now = time.time()
    try:
        target = existing_ancestor(path)
        with open(os.path.join(procfs, "self", "mountinfo"), encoding="utf-8", errors="replace") as fh:
            mount = find_mount(target, parse_mountinfo(fh.read()))
        st = statvfs(target)
    except OSError as exc:
        return FsSample(time=now, error=f"{type(exc).__name__}: {exc.strerror or exc}")
    return FsSample(
        time=now,
        mount=mount,
        size_bytes=st.f_blocks * st.f_frsize,
        avail_bytes=st.f_bavail * st.f_frsize,
        free_bytes=st.f_bfree * st.f_frsize,
        files=st.f_files,
        files_free=st.f_ffree,
        readonly=bool(st.f_flag & os.ST_RDONLY) or (mount.readonly if mount else False),
        ephemeral=ephemeral_reason(mount),
        device=device_for_mount(sysfs, mount),
    )


class RootHealth(threading.Thread):
    """Samples one root's filesystem every `interval` and probes it every `probe_interval`."""

    def __init__(
        self,
        root: RootConfig,
        procfs: str,
        sysfs: str,
        interval: float,
        probe_dirs: tuple[str, ...] = (),
        probe_interval: float = 0.0,
        statvfs: Callable[[str], os.statvfs_result] = os.statvfs,
    ) -> None:
        super().__init__(name=f"health-{root.name}", daemon=True)
        self.root, self.procfs, self.sysfs, self.interval = root, procfs, sysfs, interval
        self.probe_dirs, self.probe_interval, self.statvfs = probe_dirs, probe_interval, statvfs
        self.sample = FsSample()
        self.probe = ProbeState()
        self.in_flight_since: float | None = None
        self._halt = threading.Event()
        self._next_probe = 0.0

    def stop(self) -> None:
        """Ask the thread to finish after its current sample."""
        self._halt.set()

    def stuck_for(self) -> float:
        """Seconds the current sample has been running (0 when idle)."""
        since = self.in_flight_since
        return time.monotonic() - since if since is not None else 0.0

    def run(self) -> None:
        while not self._halt.is_set():
            self.in_flight_since = time.monotonic()
            sample = sample_fs(self.root.path, self.procfs, self.sysfs, self.statvfs)
            self.in_flight_since = None
            if sample.error and sample.error != self.sample.error:
                log.warning("filesystem sample failed: %s", sample.error, extra=kv(root=self.root.name))
            self.sample = sample
            if self.probe_interval > 0 and time.monotonic() >= self._next_probe:
                self._next_probe = time.monotonic() + self.probe_interval
                self._probe(sample)
            self._halt.wait(self.interval)

    def _probe(self, sample: FsSample) -> None:
        directory = pick_probe_dir(self.probe_dirs, self.root.path)
        st = self.probe
        if sample.error or sample.readonly or not directory:
            st.enabled = False
            st.skipped_reason = (
                "filesystem error"
                if sample.error
                else "read-only"
                if sample.readonly
                else "no probe directory on this filesystem"
            )
            return
        st.directory, st.enabled, st.skipped_reason = directory, True, ""
        try:
            st.histogram.observe(run_probe(directory))
        except OSError as exc:
            st.errors += 1
            log.warning("IO probe failed: %s", exc, extra=kv(root=self.root.name, dir=directory))


def pick_probe_dir(candidates: tuple[str, ...], root_path: str) -> str:
    """The first candidate on the same filesystem as the root (created if missing), else ''."""
    try:
        dev = os.stat(existing_ancestor(root_path)).st_dev
    except OSError:
        return ""
    for directory in candidates:
        try:
            os.makedirs(directory, exist_ok=True)
            if os.stat(directory).st_dev == dev and os.access(directory, os.W_OK):
                return directory
        except OSError:
            continue
    return ""
