"""The human-readable form of the `check` report: what is there, what `check` could not see, what is being
downloaded, and what to do about each, one line per finding."""

from __future__ import annotations

import time
from typing import Any

from modelcache_exporter.check import readable
from modelcache_exporter.check.words import age, count, short, size

HEADLINE = {"missing": "DOES NOT EXIST", "not_a_folder": "NOT A FOLDER", "unreadable": "CANNOT BE READ"}
#: root access state -> what it means and what to do
UNSEEN = {
    "missing": (
        "nothing here was checked. A typo in --path.cache or the configuration file, or a volume that "
        "is not mounted? A model server using this path downloads every model again at its next start"
    ),
    "not_a_folder": "nothing here was checked: a cache root must be a folder (e.g. ~/.cache/huggingface/hub)",
    "unreadable": (
        "nothing here was checked, the models may all be there: run check as the user the model "
        "server runs as, or give that user read access (chmod -R a+rX {path}); do not download again"
    ),
}
STATES = {
    "complete": "complete",
    "downloading": "DOWNLOADING",
    "incomplete": "INCOMPLETE",
    "unreadable": "CANNOT SEE",
    "missing": "MISSING",
}


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _revisions(m: dict[str, Any]) -> str:
    return ", ".join(short(c) + (" (main)" if c == m.get("main") else "") for c in m["revisions"]) or "no revision"


def _models(r: dict[str, Any]) -> list[str]:
    lines = [f"  {count(len(r['models']), 'model')}, {size(r.get('size_bytes'))}"]
    for m in r["models"]:
        kind, nbytes, files = m["type"] or "-", size(m["size_bytes"]), count(m["files"], "file")
        lines.append(
            f"    {m['repo']:<44} {kind:<8} {nbytes:>10} {files:>9}  {m.get('fingerprint') or '-':<16}  {_revisions(m)}"
        )
    lines += [f"  ! {p}" for p in r["problems"]]
    lines += [f"  ~ {d['text']}" for d in r["downloads"]]
    return lines


def _root(r: dict[str, Any]) -> list[str]:
    used = f", {r['usage_ratio'] * 100:.0f}% used" if r.get("usage_ratio") is not None else ""
    layout = "layout not yet known" if r["layout"] == "unknown" else f"{r['layout']}, {r['layout_source']}"
    if r["access"] != "ok":  # not looked at: only a configured layout is known
        layout = "not looked at" if r["layout"] == "unknown" else f"{r['layout']}, configured; not looked at"
    where = f"{r['filesystem'] or '?'} on {r['mountpoint'] or '?'}: {r['storage'].upper()}{used}"
    lines = [f"ROOT {r['name']}  {r['path']}  ({layout})  {where}"]
    if r["access"] != "ok":
        detail = f" ({r['detail']})" if r["detail"] else ""
        return [*lines, f"  ! {HEADLINE[r['access']]}{detail}: {UNSEEN[r['access']].format(path=r['path'])}"]
    if r["storage"] not in ("persistent", "unknown"):
        lines.append(f"  ! on {r['storage']} storage: this cache is lost when the container or host restarts")
    if r["layout"] == "unknown":
        lines.append("  empty: nothing in it tells its layout yet (what arrives next is counted as downloads)")
    return lines + _models(r)


def _required(s: dict[str, Any]) -> list[str]:
    where = f"{s['root']}:{s['where']} ({s['path']})" if s["present"] else ""
    head = f"  {s['model']:<40} {STATES[s['state']]:<11} {where}".rstrip()
    if s["state"] == "missing":
        return [head + "  not found: the next start downloads it", *_looked(s)]
    if s["state"] == "unreadable":
        tail = "fix the permissions; do not download it again"
        return [head + f"  permission denied: {tail}", *(_looked(s) if not s["present"] else [])]
    lines = [head]
    if s["missing"]:
        them = "it" if len(s["missing"]) == 1 else "them"
        lines.append(f"      missing: {', '.join(s['missing'])} (the next start downloads {them} again)")
    return lines + [f"      ~ {d}" for d in s["downloading"]]


def _looked(s: dict[str, Any]) -> list[str]:
    return [
        f"      looked in {p['path']}" + (f" for {p['for']}" if p["for"] else "") + f": {p['found']}"
        for p in s["looked_in"]
    ] or ["      looked in no root (none can hold it)"]


MAX_FETCHES = 20


def _next_start(ns: dict[str, Any]) -> list[str]:
    """What a restart would download now, how long it would take, and the command that fetches each file."""
    rate = f"{size(ns['throughput_bytes_per_second'])}/s " + (
        f"(median of this host's last {count(ns['throughput_samples'], 'timed download')})"
        if ns["throughput_samples"]
        else "(assumed: no timed download yet; --collector.ledger.default-throughput)"
    )
    load = f" + {age(ns['load_seconds'])} to load" if ns["load_seconds"] else ""
    unknown = len(ns["unknown_models"])
    if not ns["bytes"] and unknown:
        head = f"NEXT START: downloads {count(unknown, 'model')} in full, of unknown size (never seen here)"
    elif not ns["bytes"]:
        head = "NEXT START: downloads nothing" + (f"; about {age(ns['seconds'])} (the last load)" if load else "")
    else:
        fetch = f"downloads {size(ns['bytes'])} in {count(len(ns['files']), 'file')}"
        head = f"NEXT START: {fetch}, about {age(ns['seconds'])} at {rate}{load}"
    lines = [head]
    for f in ns["files"][:MAX_FETCHES]:
        how = f"  (hf download {f['repo']} {f['path']} --revision {f['revision']})" if f["hub"] else ""
        lines.append(f"  {f['root']}  {f['repo']}  {f['path']}  {size(f['bytes'])}{how}")
    if len(ns["files"]) > MAX_FETCHES:
        lines.append(f"  ... and {len(ns['files']) - MAX_FETCHES} more (--format json lists them all)")
    for m in ns["unknown_models"]:
        lines.append(f"  {m}: missing and never seen by the ledger here: its size is unknown (a full download)")
    if not ns["ledger"]:
        lines.append("  (no ledger in the state directory: sizes of missing files are unknown)")
    return lines


def _ledger(led: dict[str, Any]) -> list[str]:
    if not led.get("available"):
        return [f"DOWNLOAD HISTORY: no ledger at {led['path']}"]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(led["downloads"].items())) or "none"
    lines = [f"DOWNLOAD HISTORY ({led['path']}): {counts}"]
    for d in led["redownloads"]:
        lines.append(f"  re-download {_stamp(d['time'])}  {d['root']}  {d['repo']}  {size(d['bytes'])}")
    return lines


def render(doc: dict[str, Any]) -> str:
    """All sections, then the verdict."""
    lines = [f"modelcache-exporter check, {_stamp(doc['time'])}", *(f"NOTE: {n}" for n in doc["notes"]), ""]
    for r in doc["roots"]:
        lines += [*_root(r), ""]
    if doc["required"]:
        lines.append("REQUIRED MODELS")
        for s in doc["required"]:
            lines += _required(s)
        lines.append("")
    if doc.get("readable"):
        lines += [*readable.render(doc["readable"]), ""]
    if doc.get("next_start"):
        lines += [*_next_start(doc["next_start"]), ""]
    lines += [*_ledger(doc["ledger"]), ""]
    lines.append("RESULT: OK" if doc["ok"] else "RESULT: FAIL - " + "; ".join(doc["failures"]))
    return "\n".join(lines)
