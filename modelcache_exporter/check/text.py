"""The human-readable form of the `check` report."""

from __future__ import annotations

import time
from typing import Any


def size(n: float | None) -> str:
    """1234567 -> '1.23 MB'."""
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return str(n)


def _root(r: dict[str, Any]) -> list[str]:
    used = f", {r['usage_ratio'] * 100:.0f}% used" if r.get("usage_ratio") is not None else ""
    layout = "layout not yet known" if r["layout"] == "unknown" else f"{r['layout']}, {r['layout_source']}"
    lines = [f"ROOT {r['name']}  {r['path']}  ({layout})  {r['filesystem'] or '?'} on "
             f"{r['mountpoint'] or '?'}: {r['storage'].upper()}{used}"]
    if r["storage"] not in ("persistent", "unknown"):
        lines.append(f"  ! on {r['storage']} storage: this cache is lost when the container or host restarts")
    if not r["present"]:
        lines.append("  ! missing: the next start downloads everything again")
        return lines
    if r["layout"] == "unknown":
        lines.append("  empty: nothing in it tells its layout yet (what arrives next is counted as downloads)")
    lines.append(f"  {len(r['models'])} models, {size(r.get('size_bytes'))}")
    for m in r["models"]:
        revs = ",".join(c[:8] for c in m["revisions"])
        kind, nbytes = m["type"] or "-", size(m["size_bytes"])
        lines.append(f"    {m['repo']:<48} {kind:<8} {nbytes:>10} {m['files']:>6} files  {revs}")
    lines += [f"  ! {p}" for p in r["problems"]]
    return lines


def render(doc: dict[str, Any]) -> str:
    """All sections, then the verdict."""
    lines = [f"modelcache-exporter check, {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(doc['time']))}", ""]
    for r in doc["roots"]:
        lines += [*_root(r), ""]
    if doc["required"]:
        lines.append("REQUIRED MODELS")
        for s in doc["required"]:
            state = "complete" if s["complete"] else "INCOMPLETE" if s["present"] else "MISSING"
            where = f"{s['root']}:{s['where']}" if s["present"] else "-"
            missing = f"  missing: {', '.join(s['missing'])}" if s["missing"] else ""
            lines.append(f"  {s['model']:<40} {state:<10} {where}{missing}")
        lines.append("")
    led = doc["ledger"]
    if led.get("available"):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(led["downloads"].items())) or "none"
        lines.append(f"DOWNLOAD HISTORY ({led['path']}): {counts}")
        for d in led["redownloads"]:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d["time"]))
            lines.append(f"  re-download {stamp}  {d['root']}  {d['repo']}  {size(d['bytes'])}")
    else:
        lines.append(f"DOWNLOAD HISTORY: no ledger at {led['path']}")
    lines += ["", "RESULT: OK" if doc["ok"] else "RESULT: FAIL - " + "; ".join(doc["failures"])]
    return "\n".join(lines)
