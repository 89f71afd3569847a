"""Model load time that is right even when the log is not.

A load STARTS at the earliest evidence, and from then on `loading` is 1, `ready` 0 and
`in_progress(now)` grows on every scrape whether or not another line arrives: the web UI process's
start time (psutil), a new, replaced or truncated log file (`python webui.py > log` truncates it
before the app prints anything; block-buffered stdout may then print nothing for the whole load), a
line that only appears while loading (`>>` stage lines, stderr warnings, download lines), readiness
lost (the probe failing after it succeeded; with a process watcher a restart is a new process). It
ENDS at the ready line or at the first successful readiness probe, whichever comes first.

A file reset alone is weak evidence: copytruncate rotation truncates too. The rule:

* Resets whose old content was kept next to the file are rotations (the tailer checks, rotation.py).
* The process watcher has seen the web UI: resets are ignored. It reports a new process with its
  exact start within a round; the same process means a rotation; no process means stopped on purpose
  (nothing loads until a process appears).
* The probe last succeeded: the reset is held until the next probe sent ROUND seconds after it. A
  failure begins the load at the reset; a success drops it (the app served throughout: a rotation).
* Otherwise the load begins at once, TENTATIVE: a request line, or a process first seen that started
  before the reset, cancels it (loading 0, ready as before, no load or restart counted). A loading
  line, the ready line, a probe result or a new process makes it firm; only then is a restart counted
  and are downloads in progress interrupted.

Limits, where the exporter cannot tell: without a watcher or a probe, a truncation that keeps no copy
next to the file (logrotate's `olddir`; `: > webui.log`) of an idle web UI is a load until a request
line arrives. Only a watcher sees a web UI stopped on purpose: to a probe a closed port looks like a
loading app, and a log says nothing. A watcher that never matched a process is not trusted (a wrong
pattern must not hide loads). A reset and a ready line within one probe interval record no load.

Guards kept: loading lines while the app is known to serve (probe OK, or same process ready) are late
block-buffered stdout or lazy loads, not a new load; they mark stdout as buffered. A duration is
recorded only when the start time is exact and the app was seen NOT ready after it, and the end is
timed: the first look at an app up for hours records no hours-long "load". Backlog lines are untimed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from modelcache_exporter.logs import events as ev
from modelcache_exporter.logs.emit import Emitter
from modelcache_exporter.logs.loadstages import stage_durations
from modelcache_exporter.logs.stats import LOAD_BUCKETS, Hist

#: Seconds a process's start time may precede the reset its own start caused (psutil's error, a
#: launcher forked before the shell's `>`): a process older than that was running through the reset.
SLACK = 2.0
#: A reset's time is the start of the tailer round that noticed it: a probe sent less than this after it
#: may have been answered before the truncation itself.
ROUND = 0.5
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
        self.pending_reset: float | None = None  # a reset while the probe succeeded: the next probe decides
        self.tentative: tuple[bool, bool] | None = None  # (ready, seen_app) before a load begun on a reset alone
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

    def _begin(self, start: float, known: bool, confirmed: bool, tentative: bool = False) -> None:
        if self.loading:
            if known and (not self.start_known or start < self.start):
                self.start, self.start_known = start, True
                self.marks = [m for m in self.recent if m[1] >= start]
            self.confirmed |= confirmed
            if not tentative:
                self._firm()
            return
        self.tentative = (self.ready, self.seen_app)
        self.seen_app, self.loading, self.ready = True, True, False
        self.start, self.start_known, self.confirmed = start, known, confirmed
        self.pending_reset = None
        self.marks = [m for m in self.recent if m[1] >= start] if known else []
        if not tentative:
            self._firm()

    def _firm(self) -> None:
        """The current load is a real one: count the restart, tell the listeners (downloads abort)."""
        if self.tentative is None:
            return
        seen, self.tentative = self.tentative[1], None
        if seen:
            self.restarts += 1
        for hook in self.on_begin:
            hook(self.start)

    def _cancel(self) -> None:
        """The tentative load was a log rotation: back to the state before it."""
        if self.tentative is not None and self.loading:
            self.ready, self.seen_app = self.tentative
            self.loading, self.tentative, self.marks = False, None, []

    def _end(self, t: float, timed: bool) -> None:
        self._firm()
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
            buffered, self.stages = stage_durations(self.marks, self.start, t, duration)
            self.buffered = self.buffered if buffered is None else buffered
        self._emit(ev.LogEvent(ev.LOAD_FINISHED, t, seconds=duration, timed=timed))

    def _serving(self) -> bool:
        """True when loading lines now cannot be a new load: the app serves (probe, or same process
        ready), or the watcher knows the process and none runs (a dead process's flushed stdout)."""
        return bool(self.probe_ok) or (self.process is not None and self.ready) or (self.watching and not self.process)

    # Signals from the log.
    def log_loading(self, t: float, timed: bool) -> None:
        """A line that appears only while models load."""
        if self.loading:
            self.confirmed = True
            self._firm()
        elif not self._serving():
            self._begin(t, timed, confirmed=True)

    def log_stage(self, stage: str, t: float, timed: bool) -> None:
        """A stage finished loading."""
        if timed:
            self.recent.append((stage, t))
        if self.loading:
            self.log_loading(t, timed)
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
        """A line of a running app (a request): a file reset before it was a rotation, not a start."""
        self.pending_reset = None
        self._cancel()

    def log_stopped(self, t: float) -> None:
        """The app says it shuts down."""
        self.ready = False

    def file_reset(self, t: float) -> None:
        """A log file was created, replaced or truncated while we watched (and kept no copy nearby)."""
        if self.watching:
            return  # the watcher reports a new process, with its exact start; none running: stopped
        if self.probe_ok:
            self.pending_reset = t
        else:
            self._begin(t, True, confirmed=True, tentative=True)

    # Signals from the process watcher and the readiness probe.
    def process_seen(self, pid: int, started: float, before_watch: bool) -> None:
        """The web UI process (`before_watch`: it started before the exporter watched)."""
        if self.process is not None and self.process[0] == pid and abs(self.process[1] - started) < 0.5:
            return  # the same process (start times are corrected per call and differ by microseconds)
        previous, self.process, self.watching = self.process, (pid, started), True
        self._emit(ev.LogEvent(ev.PROCESS_STARTED, started, value=float(pid)))
        if self.tentative is not None and started < self.start - SLACK:
            self._cancel()  # it ran through the reset: a rotation
        if previous is None and self.ready and (before_watch if self.ready_at is None else self.ready_at >= started):
            return  # the first look at an app that is up: its ready was seen (an untimed one: before we watched)
        if previous is not None and self.loading:
            self.loading = False
        self._begin(started, True, confirmed=not before_watch)

    def process_gone(self, t: float) -> None:
        """The web UI process exited (stopped: nothing loads until a process appears)."""
        if self.process is None:
            return
        self.process, self.tentative, self.pending_reset = None, None, None
        self.loading = self.ready = False
        self._emit(ev.LogEvent(ev.PROCESS_EXITED, t))

    def probe(self, ok: bool, t: float) -> None:
        """A readiness probe result (`t`: when it was sent)."""
        previous, self.probe_ok = self.probe_ok, ok
        pending, self.pending_reset = self.pending_reset, None
        if ok:
            self._end(t, True)
            if pending is not None and t < pending + ROUND:
                self.pending_reset = pending  # sent before the reset (or while it was being noticed): no evidence
            return
        self.ready = False
        if pending is not None:
            self._begin(pending, True, confirmed=True)
        elif self.loading:
            self.confirmed = True
            self._firm()
        elif previous and not self.watching:  # probe-only setups: down after up is a restart
            self._begin(t, False, confirmed=True)

    # Reading.
    def in_progress(self, now: float) -> float:
        """Seconds the current load has been running (0 when none, or not confirmed)."""
        return max(0.0, now - self.start) if self.loading and self.confirmed else 0.0
