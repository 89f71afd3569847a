"""From lines to state: the hot loop of one log source, and what each rule action does.

Runs on the log thread under the monitor's lock. Per line: the `\\r` rule (the last segment with
content is the current state; a progress bar overwritten by another line still counts with its
last state), ANSI escapes removed, trailing blanks stripped, then `Table.parse`. A line's time is
its source timestamp or read time; a timestamped library line (WETEXT, ModelScope) uses its own
timestamp when it lies within TOLERANCE of that and does not go back in time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import events as ev
from .dlactions import DownloadActions, group, number
from .downloads import DownloadTracker, Stamp
from .emit import Emitter
from .loadtime import LoadTracker
from .parse import current_state, earlier_states, parse_local_timestamp, strip_ansi
from .rules import Compiled, Hit, Table
from .stats import SourceStats, WebuiStats

TOLERANCE = 60.0


@dataclass
class Shared:
    """The state every source of one monitor updates."""

    emitter: Emitter
    downloads: DownloadTracker
    load: LoadTracker
    webui: WebuiStats


class Interpreter(DownloadActions):
    """Turns the lines of one source into state changes and events."""

    def __init__(self, log: str, table: Table, shared: Shared, stats: SourceStats) -> None:
        self.log, self.table, self.shared, self.stats = log, table, shared, stats
        self.last_stage = self.context_repo = ""
        self.last_time = 0.0
        self.actions: dict[str, Callable[[Compiled, re.Match[bytes], Stamp, bool], None]] = {
            "loading": self._loading,
            "stage": self._stage,
            "ready": self._ready,
            "stopped": self._stopped,
            "error": self._error,
            "request": self._request,
            "rtf": self._rtf,
            "progress": self._progress,
            "dl_start": self._dl_start,
            "dl_done": self._dl_done,
            "dl_settle": self._dl_settle,
            "repo": self._repo,
            "custom": self._custom,
            "info": lambda c, m, at, complete: None,
        }

    def feed(self, lines: list[bytes], when: float, timed: bool) -> None:
        """The hot loop: lines read at one time."""
        parse, matched, act = self.table.parse, self.stats.matched, self.act
        for line in lines:
            if not line:
                continue
            if b"\r" in line or b"\x1b" in line:
                self.special(line, when, timed)
                continue
            if line[-1] == 32:
                line = line.rstrip()
                if not line:
                    continue
            hit = parse(line)
            if hit is not None:
                matched[hit[0].profile] += 1
                act(hit, when, timed, True)

    def feed_stamped(self, lines: list[bytes], times: list[float]) -> None:
        """Lines with their own timestamps (Docker, CRI)."""
        for line, when in zip(lines, times, strict=True):
            self.feed([line], when, True)

    def special(self, line: bytes, when: float, timed: bool) -> None:
        """A line with `\\r` updates or terminal escapes."""
        if b"\x1b" in line:
            line = strip_ansi(line)
        state = current_state(line)
        if not state:
            return
        hit = self.table.parse(state)
        if b"\r" in line and (hit is None or hit[0].action != "progress"):
            bar = self._last_bar(line)
            if bar is not None:
                if hit is None:
                    self.stats.matched[bar[0].profile] += 1
                self.act(bar, when, timed, True)
        if hit is not None:
            self.stats.matched[hit[0].profile] += 1
            self.act(hit, when, timed, True)

    def _last_bar(self, line: bytes) -> Hit | None:
        """The last progress-bar state of a line whose current state is something else."""
        for earlier in reversed(earlier_states(line)[:-1]):
            bar = self.table.parse(earlier)
            if bar is not None and bar[0].action == "progress":
                return bar
        return None

    def peek(self, pending: bytes, now: float) -> None:
        """The current state of a partial line (a bar still moving): download start and progress."""
        if b"\r" not in pending:
            return
        state = current_state(pending)
        hit = self.table.parse(state) if state else None
        if hit is not None and hit[0].action == "progress":
            self._progress(hit[0], hit[1], Stamp(self.log, now, True), False)

    def act(self, hit: Hit, when: float, timed: bool, complete: bool) -> None:
        """Run a rule's action."""
        c, m = hit
        if "ts" in c.groups:
            stamp = parse_local_timestamp(m.group("ts"))
            if stamp is not None and abs(stamp - when) <= TOLERANCE and stamp >= self.last_time:
                when, timed = stamp, True
        self.last_time = when
        self.actions[c.action](c, m, Stamp(self.log, when, timed), complete)

    def _event(self, kind: str, c: Compiled, at: Stamp, **fields: Any) -> None:
        if kind in self.shared.emitter.wanted:
            name = self.table.profiles[c.profile]
            self.shared.emitter.emit(ev.LogEvent(kind, at.time, log=self.log, profile=name, timed=at.timed, **fields))

    def _loading(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        self.shared.load.log_loading(at.time, at.timed)
        self._event(ev.LOADING, c, at)

    def _stage(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        stage = c.attrs["stage"]
        self.last_stage, self.context_repo = stage, ""
        self.shared.load.log_stage(stage, at.time, at.timed)
        self._event(ev.STAGE, c, at, stage=stage)

    def _ready(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        self.context_repo = ""
        self.shared.load.log_ready(at.time, at.timed)
        self._event(ev.READY, c, at)

    def _stopped(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        self.shared.load.log_stopped(at.time)
        self._event(ev.STOPPED, c, at)

    def _error(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        kind, source = c.attrs.get("error", "other"), c.attrs.get("source", "")
        errors = self.shared.webui.errors
        errors[kind] = errors.get(kind, 0) + 1
        if source:
            table = self.shared.downloads.stats.errors
            table[(source, kind)] = table.get((source, kind), 0) + 1
            self.shared.downloads.fail(at, source, kind)
        self._event(ev.ERROR, c, at, error=kind, source=source)

    def _request(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        webui = self.shared.webui
        webui.requests += 1
        seconds = number(group(c, m, "seconds"))
        if seconds is not None:
            webui.inference.observe(seconds)
        self.shared.load.log_other(at.time)
        self._event(ev.REQUEST, c, at, seconds=seconds)

    def _rtf(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        rtf = number(group(c, m, "rtf"))
        if rtf is not None:
            self.shared.webui.rtf = rtf
        self._event(ev.RTF, c, at, rtf=rtf)

    def _custom(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        patterns = self.stats.patterns
        patterns[c.name] = patterns.get(c.name, 0) + 1
        self._event(ev.CUSTOM, c, at, pattern=c.name, value=number(group(c, m, "value")))
