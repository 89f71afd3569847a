"""From lines to state: the hot loop of one log source, and what each rule action does.

Runs on the log thread under the monitor's lock. Per line: the `\\r` rule (the last segment with
content is the current state; a progress bar overwritten by another line still counts with its
last state), ANSI escapes removed, trailing blanks stripped, then `Table.parse`. A line's time is
its source timestamp or read time; a timestamped library line (WETEXT, ModelScope) uses its own
timestamp when it lies within TOLERANCE of that and does not go back in time.
"""

from __future__ import annotations

import re

from modelcache_exporter.logs.apphandlers import AppHandlers
from modelcache_exporter.logs.dlhandlers import DownloadHandlers
from modelcache_exporter.logs.downloads import Stamp
from modelcache_exporter.logs.rules.parse import current_state, earlier_states, parse_local_timestamp, strip_ansi
from modelcache_exporter.logs.rules.rules import EMPTY, KEY, Compiled, Hit, Table
from modelcache_exporter.logs.shared import Handler, Shared, SourceContext
from modelcache_exporter.logs.stats import SourceStats

TOLERANCE = 60.0


class Interpreter:
    """Turns the lines of one source into state changes and events (the handlers do the changes)."""

    def __init__(self, log: str, table: Table, shared: Shared, stats: SourceStats) -> None:
        self.log, self.table, self.stats = log, table, stats
        self.last_time = 0.0
        ctx = SourceContext(log, table, stats)
        app = AppHandlers(shared, ctx)
        self.downloads = DownloadHandlers(shared, ctx, stage=app.stage)
        self.actions: dict[str, Handler] = {
            **app.handlers(),
            **self.downloads.handlers(),
            "info": lambda c, m, at, complete: None,
        }

    def feed(self, lines: list[bytes], when: float, timed: bool) -> None:
        """Lines read at one time. `Table.slow_lines` picks out the few that need the `\\r` rule,
        escapes or floating rules; the runs of lines between them take the fast path."""
        at = Stamp(self.log, when, timed)
        start = 0
        for index in sorted(self.table.slow_lines(lines)):
            if index > start:
                self._fast(lines[start:index], at)
            self.slow(lines[index], at)
            start = index + 1

    def _fast(self, lines: list[bytes], at: Stamp) -> None:
        """The hot loop: one dict lookup on a line's first bytes, then its few candidate rules."""
        long_get, short_get, matched = self.table.long.get, self.table.short.get, self.stats.matched
        actions, when = self.actions, at.time
        for line in lines:
            rules = long_get(line[:KEY])
            if rules is None:
                rules = short_get(line[0]) if line else None
                if rules is None:
                    continue
            for c in rules:
                if line.startswith(c.prefix):
                    m = EMPTY if c.literal else c.regex.match(line)
                    if m is not None:
                        matched[c.profile] += 1
                        if c.noop:
                            break
                        if c.has_ts:
                            self.act(c, m, at, True)
                        else:  # `act` inlined: most matched lines carry no timestamp of their own
                            if when > self.last_time:
                                self.last_time = when
                            actions[c.action](c, m, at, True)
                        break

    def feed_stamped(self, lines: list[bytes], times: list[float]) -> None:
        """Lines with their own timestamps (Docker, CRI)."""
        for line, when in zip(lines, times, strict=True):
            self.slow(line, Stamp(self.log, when, True))

    def slow(self, line: bytes, at: Stamp) -> None:
        """One line through every test: escapes, the `\\r` rule, trailing blanks, all rules."""
        if b"\x1b" in line:
            line = strip_ansi(line)
        if b"\r" in line:
            self._updates(line, at)
            return
        line = line.rstrip(b" ")
        hit = self.table.parse(line) if line else None
        if hit is not None:
            self._hit(hit, at)

    def _hit(self, hit: Hit, at: Stamp) -> None:
        self.stats.matched[hit[0].profile] += 1
        if not hit[0].noop:
            self.act(hit[0], hit[1], at, True)

    def _updates(self, line: bytes, at: Stamp) -> None:
        """A line of `\\r` updates: its current state; and the last state of a progress bar
        that other output overwrote (tqdm leave=False, interleaved writes)."""
        state = current_state(line)
        hit = self.table.parse(state) if state else None
        if hit is None or hit[0].action != "progress":
            bar = self._last_bar(line)
            if bar is not None:
                if hit is None:
                    self.stats.matched[bar[0].profile] += 1
                self.act(bar[0], bar[1], at, True)
        if hit is not None:
            self._hit(hit, at)

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
            self.downloads.progress(hit[0], hit[1], Stamp(self.log, now, True), False)

    def act(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """Run a rule's action (a timestamped library line may bring its own, better time)."""
        if c.has_ts:
            stamp = parse_local_timestamp(m.group("ts"))
            if stamp is not None and abs(stamp - at.time) <= TOLERANCE and stamp >= self.last_time:
                at = Stamp(at.log, stamp, True)
            self.last_time = at.time
        elif at.time > self.last_time:
            self.last_time = at.time
        self.actions[c.action](c, m, at, complete)
