"""The thread that samples `/proc/diskstats` for the disk IO collector (reads off the scrape path)."""

from __future__ import annotations

import os
import threading

from modelcache_exporter.fshealth.diskstats import DiskStat, parse_diskstats


class DiskSampler(threading.Thread):
    """Reads `/proc/diskstats` every `interval` seconds."""

    def __init__(self, procfs: str, interval: float) -> None:
        super().__init__(name="diskstats", daemon=True)
        self.path, self.interval = os.path.join(procfs, "diskstats"), interval
        self.stats: dict[str, DiskStat] = {}
        self.error = ""
        self._halt = threading.Event()

    def sample(self) -> None:
        """Read the file once."""
        try:
            with open(self.path, encoding="ascii", errors="replace") as fh:
                self.stats, self.error = parse_diskstats(fh.read()), ""
        except OSError as exc:
            self.error = str(exc)

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        """Finish after the current sample."""
        self._halt.set()
