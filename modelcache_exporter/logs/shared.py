"""The state the rule handlers update, given to them explicitly.

`Shared` is what every source of one monitor updates (load state, downloads, the web UI's own
counters, the event queue); `SourceContext` is what the handlers of one source share (its name,
its rule table, its health counters and what its recent lines said: the last stage, the repo in
context). Both are updated on the log thread under the monitor's lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from modelcache_exporter.logs.downloads import DownloadTracker, Stamp
from modelcache_exporter.logs.emit import Emitter
from modelcache_exporter.logs.loadtime import LoadTracker
from modelcache_exporter.logs.rules.rules import Compiled, Table
from modelcache_exporter.logs.stats import SourceStats, WebuiStats

#: A rule's action: the rule, its match, the line's time, whether the line ended (`\\n`).
Handler = Callable[[Compiled, re.Match[bytes], Stamp, bool], None]


@dataclass
class Shared:
    """The state every source of one monitor updates."""

    emitter: Emitter
    downloads: DownloadTracker
    load: LoadTracker
    webui: WebuiStats


@dataclass
class SourceContext:
    """What the handlers of one source share: which log, its rules, its counters, its recent context."""

    log: str
    table: Table
    stats: SourceStats
    last_stage: str = ""  # the stage of the last stage line (profile hints for bars are per stage)
    context_repo: str = ""  # the repo the last lines named (bars without a hint belong to it)


def group(c: Compiled, m: re.Match[bytes], name: str) -> bytes | None:
    """A named capture, or None when the rule has no such group or it did not participate."""
    return m.group(name) if name in c.groups else None


def number(value: bytes | None) -> float | None:
    """A captured number, or None."""
    try:
        return float(value) if value else None
    except ValueError:
        return None
