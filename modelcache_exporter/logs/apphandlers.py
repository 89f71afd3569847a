"""The web UI handlers of the interpreter: loading, stages, ready, stop, errors, requests, custom.

Each handler updates the shared state (under the monitor's lock, held by the caller) and builds a
`LogEvent` only when a listener wants its kind.
"""

from __future__ import annotations

import re
from typing import Any

from modelcache_exporter.logs import events as ev
from modelcache_exporter.logs.downloads import Stamp
from modelcache_exporter.logs.rules.rules import Compiled
from modelcache_exporter.logs.shared import Handler, Shared, SourceContext, group, number


class AppHandlers:
    """The actions of the web UI's own lines, for one source."""

    def __init__(self, shared: Shared, ctx: SourceContext) -> None:
        self.shared, self.ctx = shared, ctx

    def handlers(self) -> dict[str, Handler]:
        """Action name -> handler."""
        return {
            "loading": self.loading,
            "stage": self.stage,
            "ready": self.ready,
            "stopped": self.stopped,
            "error": self.error,
            "request": self.request,
            "rtf": self.rtf,
            "custom": self.custom,
        }

    def event(self, kind: str, c: Compiled, at: Stamp, **fields: Any) -> None:
        """Queue a `LogEvent` of this source when a listener wants its kind."""
        if kind in self.shared.emitter.wanted:
            profile = self.ctx.table.profiles[c.profile]
            event = ev.LogEvent(kind, at.time, log=self.ctx.log, profile=profile, timed=at.timed, **fields)
            self.shared.emitter.emit(event)

    def loading(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """A line that appears only while models load."""
        self.shared.load.log_loading(at.time, at.timed)
        self.event(ev.LOADING, c, at)

    def stage(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """A stage finished loading (its name is the rule's `stage` attribute)."""
        stage = c.attrs["stage"]
        self.ctx.last_stage, self.ctx.context_repo = stage, ""
        self.shared.load.log_stage(stage, at.time, at.timed)
        self.event(ev.STAGE, c, at, stage=stage)

    def ready(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """The app's ready line."""
        self.ctx.context_repo = ""
        self.shared.load.log_ready(at.time, at.timed)
        self.event(ev.READY, c, at)

    def stopped(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """The app says it shuts down."""
        self.shared.load.log_stopped(at.time)
        self.event(ev.STOPPED, c, at)

    def error(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """An error line: counted by kind, and against its download source when it names one."""
        kind, source = c.attrs.get("error", "other"), c.attrs.get("source", "")
        errors = self.shared.webui.errors
        errors[kind] = errors.get(kind, 0) + 1
        if source:
            table = self.shared.downloads.stats.errors
            table[(source, kind)] = table.get((source, kind), 0) + 1
            self.shared.downloads.fail(at, source, kind)
        self.event(ev.ERROR, c, at, error=kind, source=source)

    def request(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """An inference request finished (with its time when the line has one)."""
        webui = self.shared.webui
        webui.requests += 1
        seconds = number(m.group("seconds")) if "seconds" in c.groups else None
        if seconds is not None:
            webui.inference.observe(seconds)
        self.shared.load.log_other(at.time)  # a running app: a file reset just before was a rotation
        if ev.REQUEST in self.shared.emitter.wanted:
            self.event(ev.REQUEST, c, at, seconds=seconds)

    def rtf(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """The real-time factor of the last request."""
        rtf = number(m.group("rtf")) if "rtf" in c.groups else None
        if rtf is not None:
            self.shared.webui.rtf = rtf
        if ev.RTF in self.shared.emitter.wanted:
            self.event(ev.RTF, c, at, rtf=rtf)

    def custom(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """A custom pattern of kind `custom`: counted per source, with its `value` capture."""
        patterns = self.ctx.stats.patterns
        patterns[c.name] = patterns.get(c.name, 0) + 1
        self.event(ev.CUSTOM, c, at, pattern=c.name, value=number(group(c, m, "value")))
