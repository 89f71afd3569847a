"""Model load time that is right even when the log is not.

A load STARTS at the earliest of: the web UI process's start time (psutil), a new or truncated log
file, a log line that only appears while loading (explicit start marker, `>>` stage lines, the
stderr warnings, download lines). It ENDS at the ready line or at the first successful readiness
probe, whichever comes first. Guards, each against a real failure mode:

* A new/truncated file is only a candidate start (copytruncate rotation also truncates): it is
  used when a loading line follows within RESET_WINDOW with no request or ready line between,
  and ignored while the process watcher knows the process (its start time is exact).
* Loading lines while the app is known to serve (probe OK, or same process already ready) are
  late block-buffered stdout or lazy loads, not a new load; they mark stdout as buffered.
* A duration is recorded only when the start time is exact and the app was seen NOT ready after
  it (a live start, a probe failure, or loading lines); the end must be timed too. So the first
  look at an app that has been up for hours never records an hours-long "load".
* Per-stage durations are recorded only when the stage lines arrived spread out in time; a
  burst (stdout block-buffered, `>>` lines all flushed at once) is flagged instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from . import events as ev
from .emit import Emitter
from .stats import LOAD_BUCKETS, Hist

RESET_WINDOW = 600.0
BURST = 0.05
LAUNCH = "launch"
#: Stage lines kept for one load's per-stage durations (a load has a dozen; an app that never prints its
#: ready line would otherwise add one per stage line for ever).
MAX_MARKS = 256


class LoadTracker:
    """The web UI's load state (called under the monitor's lock from the log and watcher threads)."""

    def __init__(self, emitter: Emitter) -> None:
        self.emitter = emitter
        self.loading = self.start_known = self.confirmed = self.ready = self.buffered = self.seen_app = False
        self.start = 0.0
        self.probe_ok: bool | None = None
        self.process: tuple[int, float] | None = None
        self.watching = False  # the process watcher has seen the web UI process
        self.pending_reset: float | None = None
        self.loads = self.restarts = 0
        self.hist = Hist(LOAD_BUCKETS)
        self.last_duration: float | None = None
        self.ready_at: float | None = None
        self.marks: list[tuple[str, float]] = []
        self.recent: deque[tuple[str, float]] = deque(maxlen=32)
        self.stages: dict[str, float] = {}
        self.on_begin: list[Callable[[float], None]] = []

    def _emit(self, event: ev.LogEvent) -> None:
        if event.kind in self.emitter.wanted:
            self.emitter.emit(event)

    def _begin(self, start: float, known: bool, confirmed: bool) -> None:
        if self.loading:
            if known and (not self.start_known or start < self.start):
                self.start, self.start_known = start, True
                self.marks = [m for m in self.recent if m[1] >= start]
            self.confirmed |= confirmed
            return
        if self.seen_app:
            self.restarts += 1
        self.seen_app, self.loading, self.ready = True, True, False
        self.start, self.start_known, self.confirmed = start, known, confirmed
        self.pending_reset = None
        self.marks = [m for m in self.recent if m[1] >= start] if known else []
        for hook in self.on_begin:
            hook(start)

    def _end(self, t: float, timed: bool) -> None:
        self.ready, self.seen_app, self.pending_reset = True, True, None
        if timed:
            self.ready_at = t
        if not self.loading:
            return
        self.loading = False
        duration = t - self.start if self.start_known and self.confirmed and timed and t >= self.start else None
        if self.confirmed:
            self.loads += 1
        if duration is not None:
            self.hist.observe(duration)
            self.last_duration = duration
            self._set_stages(t, duration)
        self._emit(ev.LogEvent(ev.LOAD_FINISHED, t, seconds=duration, timed=timed))

    def _set_stages(self, end: float, duration: float) -> None:
        times = [t for _, t in self.marks]
        self.stages = {}
        if not times:
            return  # no stage line during the load: buffering stays as last seen (late lines set it)
        self.buffered = len(times) >= 3 and max(times) - min(times) < BURST and duration >= 1.0
        if self.buffered:
            return
        prev = self.start
        for stage, t in self.marks:
            self.stages[stage] = self.stages.get(stage, 0.0) + max(0.0, t - prev)
            prev = max(prev, t)
        self.stages[LAUNCH] = max(0.0, end - prev)

    def _serving(self) -> bool:
        """True when loading lines now cannot be a new load: the app serves (probe, or same process
        ready), or the watcher knows the process and none runs (a dead process's flushed stdout)."""
        return bool(self.probe_ok) or (self.process is not None and self.ready) or (self.watching and not self.process)

    # Signals from the log.
    def log_loading(self, t: float, timed: bool) -> None:
        """A line that appears only while models load."""
        if self.loading:
            self.confirmed = True
            return
        if self._serving():
            return
        start, known = t, timed
        if self.pending_reset is not None and 0.0 <= t - self.pending_reset <= RESET_WINDOW:
            start, known = self.pending_reset, True
        self._begin(start, known, confirmed=True)

    def log_stage(self, stage: str, t: float, timed: bool) -> None:
        """A stage finished loading."""
        if timed:
            self.recent.append((stage, t))
        if self.loading:
            self.confirmed = True
            if timed and len(self.marks) < MAX_MARKS:
                self.marks.append((stage, t))
        elif self._serving():
            self.buffered = True
        else:
            self.log_loading(t, timed)

    def log_ready(self, t: float, timed: bool) -> None:
        """The app's ready line."""
        self._end(t, timed)

    def log_other(self, t: float) -> None:
        """A line of a running app (a request): a pending file reset was a rotation, not a start."""
        self.pending_reset = None

    def log_stopped(self, t: float) -> None:
        """The app says it shuts down."""
        self.ready = False

    def file_reset(self, t: float) -> None:
        """A log file was created, replaced or truncated while we watched."""
        if self.process is None:
            self.pending_reset = t

    # Signals from the process watcher and the readiness probe.
    def process_seen(self, pid: int, started: float, before_watch: bool) -> None:
        """The web UI process (`before_watch`: it started before the exporter watched)."""
        if self.process is not None and self.process[0] == pid and abs(self.process[1] - started) < 0.5:
            return  # the same process (start times are corrected per call and differ by microseconds)
        previous, self.process, self.watching = self.process, (pid, started), True
        self._emit(ev.LogEvent(ev.PROCESS_STARTED, started, value=float(pid)))
        if previous is None and self.ready and (self.ready_at is None or self.ready_at >= started):
            return
        if previous is not None and self.loading:
            self.loading = False
        self._begin(started, True, confirmed=not before_watch)

    def process_gone(self, t: float) -> None:
        """The web UI process exited."""
        if self.process is None:
            return
        self.process = None
        self.loading = self.ready = False
        self._emit(ev.LogEvent(ev.PROCESS_EXITED, t))

    def probe(self, ok: bool, t: float) -> None:
        """A readiness probe result (`t`: when it was sent)."""
        previous, self.probe_ok = self.probe_ok, ok
        if ok:
            self._end(t, True)
            return
        self.ready = False
        if self.loading:
            self.confirmed = True
        elif previous and not self.watching:  # probe-only setups: down after up is a restart
            self._begin(t, False, confirmed=True)

    # Reading.
    def in_progress(self, now: float) -> float:
        """Seconds the current load has been running (0 when none, or not confirmed)."""
        return max(0.0, now - self.start) if self.loading and self.confirmed else 0.0
