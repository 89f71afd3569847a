"""The `/` page: the on-call person's first screen, rendered from `overview.Overview`. Plain HTML with inline
CSS, no JavaScript, readable at 1280 px. Every text from the outside world (paths, repo names, log lines) goes
through `esc`: HTML-escaped, and a name that is not UTF-8 shown with `\\xNN` escapes (`base.names.label_text`)."""

from __future__ import annotations

from modelcache_exporter.base.human import ago, since, size
from modelcache_exporter.web.findings import Finding
from modelcache_exporter.web.landingparts import downloads, logs, models, partials, required
from modelcache_exporter.web.landingparts import esc as _e
from modelcache_exporter.web.nextstart import next_start
from modelcache_exporter.web.overview import Overview
from modelcache_exporter.web.rootview import RootView

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2127;background:#f4f5f7;margin:0}
main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}
header{display:flex;align-items:baseline;gap:16px;flex-wrap:wrap;margin-bottom:8px}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:0 0 6px}h3{font-size:14px;margin:14px 0 4px;color:#444}
a{color:#0b5cad}code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12.5px}
section{background:#fff;border:1px solid #d8dbe0;border-left:6px solid #9aa3ad;border-radius:4px;
padding:12px 16px;margin:12px 0}
section.crit{border-left-color:#c62828}section.warn{border-left-color:#e6a100}section.ok{border-left-color:#2e7d32}
section.info{border-left-color:#1565c0}
.badge{display:inline-block;padding:1px 8px;border-radius:3px;font-weight:700;font-size:13px;color:#fff;
background:#6b7280;letter-spacing:.03em}
.badge.crit{background:#c62828}.badge.warn{background:#b77f00}.badge.ok{background:#2e7d32}
.badge.info{background:#1565c0}
.facts{display:grid;grid-template-columns:110px 1fr;gap:2px 12px;margin:6px 0}.facts dt{color:#555}
.facts dd{margin:0;overflow-wrap:anywhere}
ul.findings{margin:6px 0;padding-left:20px}li.crit{color:#b71c1c;font-weight:600}li.warn{color:#8a5a00}
table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top;overflow-wrap:anywhere}
th{background:#f0f1f3;font-weight:600;color:#333}td.num,th.num{text-align:right;white-space:nowrap}
.main{background:#e3f2e5;color:#1b5e20;font-weight:700;padding:0 4px;border-radius:2px}
.muted{color:#6b7280}.more{color:#555;font-style:italic}
.redownload{color:#b71c1c;font-weight:700}
"""


def _finding(f: Finding) -> str:
    return f"<li class='{f.level}'>{_e(f.text)}</li>"


def _storage(r: RootView) -> str:
    st = r.storage
    if st.error:
        return f"<span class='badge warn'>unknown</span> {_e(st.error)}"
    where = f" ({_e(st.fstype)} on <code>{_e(st.mountpoint)}</code>)" if st.mountpoint else ""
    free = f", {size(st.avail_bytes)} free of {size(st.size_bytes)}" if st.size_bytes else ""
    level = "ok" if st.verdict == "persistent" else "info" if st.verdict == "unknown" else "warn"
    return f"<span class='badge {level}'>{_e(st.verdict)}</span>{where}{free}"


def _facts(r: RootView, now: float) -> str:
    layout = "not yet known" if r.layout == "unknown" else f"{_e(r.layout)} ({_e(r.layout_source)})"
    content = f"{size(r.size_bytes)} in {r.files} files, {len(r.models) + r.more_models} models" if r.present else "-"
    ix = r.index
    index = f"{_e(ix.state)}; {_e(ix.mode)}"
    if ix.last_change:
        index += f"; last change seen {ago(now - ix.last_change)}"
    rows = [("path", f"<code>{_e(r.path)}</code>"), ("layout", layout), ("storage", _storage(r)),
            ("content", content), ("index", index)]  # fmt: skip
    return "<dl class='facts'>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _root(r: RootView, now: float, ledger: bool) -> str:
    findings = "".join(_finding(f) for f in r.findings)
    parts = [
        f"<section class='{r.level}' id='root-{_e(r.name)}'>",
        f"<h2><span class='badge {r.level}'>{_e(r.status)}</span> root {_e(r.name)}</h2>",
        _facts(r, now),
        f"<ul class='findings'>{findings}</ul>" if findings else "",
        partials(r.partials),
        models(r),
        downloads(r, now) if ledger else "",
        "</section>",
    ]
    return "".join(parts)


def _summary(page: Overview) -> str:
    level = page.level
    if not page.attention:
        return "<section class='ok'><span class='badge ok'>OK</span> every root and required model is fine</section>"
    items = "".join(f"<li>{_e(a)}</li>" for a in page.attention)
    return f"<section class='{level}'><h2>Needs attention</h2><ul class='findings'>{items}</ul></section>"


def render(page: Overview, title: str, telemetry_path: str) -> str:
    """The whole HTML document."""
    roots = (
        "".join(_root(r, page.now, page.ledger) for r in page.roots) or "<section>No cache root configured.</section>"
    )
    body = [
        f"<header><h1>{_e(title)}</h1><a href='{_e(telemetry_path)}'>Metrics</a><a href='/healthz'>Health</a>",
        f"<span class='muted'>as of {_e(since(page.now, page.now))}</span></header>",
        _summary(page),
        roots or "<section>No cache root configured.</section>",
        required(page.required),
        next_start(page.forecast, frozenset(r.name for r in page.roots if r.layout == "hf-hub")),
        logs(page, page.now),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>{''.join(body)}</main></body></html>"
    )
