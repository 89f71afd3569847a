"""The tables of the landing page: a root's partial downloads, models and downloads; the required models; the
logs followed. Every outside text through `esc`."""

from __future__ import annotations

import html
from collections.abc import Sequence

from modelcache_exporter.base.human import ago, duration, since, size
from modelcache_exporter.base.names import label_text
from modelcache_exporter.logs.events import LogEvent
from modelcache_exporter.web.overview import LogView, Overview, RequiredView
from modelcache_exporter.web.rootview import ModelView, PartialView, RevisionView, RootView

VERDICTS = {
    "first": "first download",
    "new_revision": "new revision",
    "redownload": "RE-DOWNLOAD",
    "synced": "synced copy",
}


def esc(value: object) -> str:
    """Text for the page: HTML-escaped, valid UTF-8 (a name that is not shows its bytes as `\\xNN`)."""
    return html.escape(label_text(str(value)), quote=True)


def table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table of cells already escaped; columns in `numeric` right-aligned."""

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(f"<{tag}{' class=num' if i in numeric else ''}>{c}</{tag}>" for i, c in enumerate(row))

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return f"<table><thead><tr>{cells('th', head)}</tr></thead><tbody>{body}</tbody></table>"


def partials(items: Sequence[PartialView]) -> str:
    """The root's downloads in progress or stalled."""
    if not items:
        return ""
    rows = [
        [esc(p.repo or "-"), f"<code>{esc(p.path)}</code>", size(p.size_bytes), esc(ago(p.idle_seconds)),
         "<b class='redownload'>STALLED</b>" if p.stalled else "downloading"]
        for p in items
    ]  # fmt: skip
    return "<h3>Partial downloads</h3>" + table(["repo", "file", "so far", "last grew", "state"], rows, (2,))


def _revision(r: RevisionView) -> str:
    refs = ", ".join(f"<span class='main'>{esc(x)}</span>" if x == "main" else esc(x) for x in r.refs)
    return f"<code>{esc(r.commit)}</code>" + (f" {refs}" if refs else "")


def _model_row(m: ModelView) -> list[str]:
    revs = "<br>".join(_revision(r) for r in m.revisions) or "<span class='muted'>-</span>"
    if m.more_revisions:
        revs += f"<br><span class='more'>and {m.more_revisions} more</span>"
    problems = "<br>".join(f"<span class='{p.level}'>{esc(p.text)}</span>" for p in m.problems) or "ok"
    return [
        esc(m.repo),
        esc(m.repo_type),
        size(m.size_bytes),
        str(m.files),
        f"<code>{esc(m.fingerprint or '-')}</code>",
        revs,
        problems,
    ]


def models(r: RootView) -> str:
    """The root's models, largest first, capped."""
    if not r.models:
        return "<h3>Models</h3><p class='muted'>none</p>" if r.present else ""
    rows = [_model_row(m) for m in r.models]
    more = f"<p class='more'>and {r.more_models} more models (smaller)</p>" if r.more_models else ""
    head = ["repo", "type", "size", "files", "fingerprint", "revisions", "problems"]
    return "<h3>Models, largest first</h3>" + table(head, rows, (2, 3)) + more


def downloads(r: RootView, now: float) -> str:
    """Downloads by verdict since the exporter started, and the latest ones (the ledger's history too)."""
    counts = " · ".join(
        f"<span class='{'redownload' if why == 'redownload' and n else ''}'>{VERDICTS.get(why, why)}: {n} files"
        f"{f' ({size(b)})' if n else ''}</span>"
        for why, n, b in r.downloads
    )
    rows = [
        [esc(since(d.time, now)), esc(d.repo),
         f"<span class='redownload'>{VERDICTS[d.reason]}</span>" if d.reason == "redownload" else
         esc(VERDICTS.get(d.reason, d.reason)), str(d.files), size(d.bytes)]
        for d in r.recent
    ]  # fmt: skip
    recent = table(["when", "repo", "verdict", "files", "bytes"], rows, (3, 4)) if rows else ""
    return f"<h3>Downloads since start</h3><p>{counts}</p>{recent}"


def required(items: Sequence[RequiredView] | None) -> str:
    """The required models, or nothing when none are configured."""
    if items is None:
        return ""
    level = max((r.level for r in items), key=("ok", "info", "warn", "crit").index, default="ok")

    def state(r: RequiredView) -> str:
        return f"<span class='badge {r.level}'>{esc(r.state)}</span>"

    def lacks(r: RequiredView) -> str:
        more = f" and {r.more_missing} more" if r.more_missing else ""
        return esc(", ".join(r.missing) + more) if r.missing else ""

    rows = [[esc(r.name), state(r), esc(r.where), lacks(r)] for r in items]
    return (
        f"<section class='{level}'><h2>Required models</h2>"
        + table(["model", "state", "where", "missing"], rows)
        + "</section>"
    )


def _event(e: LogEvent | None, now: float) -> str:
    if e is None:
        return "<span class='muted'>none yet</span>"
    what = " ".join(x for x in (e.kind, e.repo, e.file, e.stage, e.error) if x)
    return f"{esc(what)} <span class='muted'>{esc(ago(max(0.0, now - e.time)))}</span>"


def _log_row(v: LogView, now: float) -> list[str]:
    last = esc(ago(max(0.0, now - v.last_line))) if v.last_line else "<span class='muted'>no line yet</span>"
    return [
        esc(v.name),
        f"<code>{esc(v.path or '-')}</code>",
        str(v.files),
        str(v.lines),
        last,
        _event(v.last_event, now),
    ]


def logs(page: Overview, now: float) -> str:
    """The logs followed and the web UI's load."""
    if not page.logs and page.loading is None:
        return "<section><h2>Logs</h2><p class='muted'>no log followed (--path.webui-log)</p></section>"
    load = ""
    if page.loading is not None:
        load = f"<p><b>The web UI is loading its models</b>, for {esc(duration(page.loading))} now.</p>"
    head = ["source", "file", "files open", "lines", "last line", "last event"]
    rows = [_log_row(v, now) for v in page.logs]
    return f"<section><h2>Logs</h2>{load}{table(head, rows, (2, 3)) if rows else ''}</section>"
