"""The web UI actions of the interpreter: loading, stages, ready, stop, errors, requests, custom.

Mixed into `Interpreter`; each action updates the shared state under the monitor's lock and
builds a `LogEvent` only when a listener wants its kind.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from modelcache_exporter.logs import events as ev
from modelcache_exporter.logs.dlactions import group, number
from modelcache_exporter.logs.downloads import Stamp
from modelcache_exporter.logs.rules.rules import Compiled, Table

if TYPE_CHECKING:
    from modelcache_exporter.logs.emit import Emitter
    from modelcache_exporter.logs.interpret import Shared
    from modelcache_exporter.logs.loadtime import LoadTracker
    from modelcache_exporter.logs.stats import SourceStats, WebuiStats


class AppActions:
    """Mixed into `Interpreter`."""

    log: str
    table: Table
    shared: Shared
    stats: SourceStats
    webui: WebuiStats
    load: LoadTracker
    emitter: Emitter
    last_stage: str
    context_repo: str

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
        webui = self.webui
        webui.requests += 1
        seconds = number(m.group("seconds")) if "seconds" in c.groups else None
        if seconds is not None:
            webui.inference.observe(seconds)
        self.load.log_other(at.time)  # a running app: a file reset just before was a rotation
        if ev.REQUEST in self.emitter.wanted:
            self._event(ev.REQUEST, c, at, seconds=seconds)

    def _rtf(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        rtf = number(m.group("rtf")) if "rtf" in c.groups else None
        if rtf is not None:
            self.webui.rtf = rtf
        if ev.RTF in self.emitter.wanted:
            self._event(ev.RTF, c, at, rtf=rtf)

    def _custom(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        patterns = self.stats.patterns
        patterns[c.name] = patterns.get(c.name, 0) + 1
        self._event(ev.CUSTOM, c, at, pattern=c.name, value=number(group(c, m, "value")))
