"""The landing page's "Next start" section: what a restart of the web UI would download now and how long it
would take (the ledger's `Forecast`), with the command that fetches each missing file of a hub root."""

from __future__ import annotations

from modelcache_exporter.base.human import count, duration, size
from modelcache_exporter.ledger.forecast import Forecast
from modelcache_exporter.web.landingparts import esc, table

MAX_FILES = 20


def _rate(fc: Forecast) -> str:
    rate = f"{size(fc.throughput.bytes_per_second)}/s"
    if fc.throughput.samples:
        return f"{rate} (median of this host's last {count(fc.throughput.samples, 'timed download')})"
    return f"{rate} (assumed: no timed download yet)"


def next_start(fc: Forecast | None, hub_roots: frozenset[str]) -> str:
    """The section; empty when no required models are configured (nothing says what a start needs)."""
    if fc is None:
        return ""
    load = f" + {duration(fc.load_seconds)} to load" if fc.load_seconds else ""
    if not fc.bytes and not fc.unknown_models:
        text = "a restart now downloads nothing" + (
            f"; it takes about {duration(fc.seconds)} (the last load)" if load else ""
        )
        return f"<section class='ok'><h2>Next start</h2><p>{esc(text)}</p></section>"
    level = "warn"
    head = f"a restart now downloads {size(fc.bytes)} in {count(len(fc.files), 'file')}"
    head += f", about {duration(fc.seconds)} at {_rate(fc)}{load}"
    rows = [
        [esc(f.root), esc(f.repo), f"<code>{esc(f.path)}</code>", size(f.bytes),
         f"<code>hf download {esc(f.repo)} {esc(f.path)} --revision {esc(f.revision)}</code>"
         if f.root in hub_roots else "-"]
        for f in fc.files[:MAX_FILES]
    ]  # fmt: skip
    more = len(fc.files) - MAX_FILES
    unknown = "".join(
        f"<li class='warn'>{esc(m)}: missing and never seen here, its size is unknown (a full download)</li>"
        for m in fc.unknown_models
    )
    return "".join([
        f"<section class='{level}'><h2>Next start</h2><p><b>{esc(head)}</b></p>",
        table(["root", "repo", "file", "size", "restore"], rows, numeric=[3]) if rows else "",
        f"<p class='more'>and {more} more</p>" if more > 0 else "",
        f"<ul class='findings'>{unknown}</ul>" if unknown else "",
        "</section>",
    ])  # fmt: skip
