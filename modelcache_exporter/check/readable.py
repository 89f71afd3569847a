"""`check --collector.required.readable-by=UID[:GID]`: every model the web UI's user could not read, named with
the entries that stop it and the `chown`/`chmod` that fixes it (the same walk as the exporter's worker)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelcache_exporter.access.perms import parse_who
from modelcache_exporter.access.run import model_base, required_places, root_access
from modelcache_exporter.access.walk import Access
from modelcache_exporter.check.words import count
from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.required import Requirement, evaluate


def _bad(a: Access) -> bool:
    return bool(a.unreadable_files or a.unreadable_folders)


def _entry(name: str, path: str, a: Access) -> dict[str, Any]:
    return {
        "model": name,
        "path": path,
        "unreadable_files": a.unreadable_files,
        "unreadable_folders": a.unreadable_folders,
        "denied": [vars(d) for d in a.denied],
    }


def readable_report(
    readable_by: str, required: Sequence[Requirement], states: Sequence[RootState]
) -> dict[str, Any] | None:
    """Per root: the models (and required models' folders) the user cannot read; None when no user is set."""
    who = parse_who(readable_by)
    if who is None:
        return None
    statuses = [evaluate(q, states) for q in required]
    roots = []
    for st in states:
        if not st.present or st.layout == "unknown":
            continue
        places = required_places(statuses, required, st.name)
        found = root_access(st.path, [m.key for m in st.models], places, who.uid, who.gids)
        names = {m.key: m.repo_id for m in st.models}
        by_name = {p.name: p for p in places}
        reqs = [_entry(a.key, model_base(st.path, by_name[a.key].rel), a) for a in found.places if _bad(a)]
        # a required model checked whole (a hub repo) is also a model: named once
        shown = {m["path"] for m in reqs if not by_name[m["model"]].files}
        models = [
            _entry(names.get(a.key, a.key), model_base(st.path, a.key), a)
            for a in found.models
            if _bad(a) and model_base(st.path, a.key) not in shown
        ]
        roots.append({"name": st.name, "models_checked": len(found.models), "models": models, "required": reqs})
    return {"user": str(who), "setting": readable_by, "owner": who.owner, "roots": roots}


def failures(doc: dict[str, Any] | None) -> list[str]:
    """One reason per model (required or not) the user cannot read."""
    if doc is None:
        return []
    out = [f"required model {m['model']} cannot be read by {doc['user']}" for r in doc["roots"] for m in r["required"]]
    return out + [f"{m['model']} cannot be read by {doc['user']}" for r in doc["roots"] for m in r["models"]]


def render(doc: dict[str, Any]) -> list[str]:
    """The section of the text report."""
    lines = [f"READABLE BY {doc['user']} (--collector.required.readable-by={doc['setting']})"]
    for r in doc["roots"]:
        bad = r["required"] + r["models"]
        if not bad:
            lines.append(f"  {r['name']}: {count(r['models_checked'], 'model')}, every file and folder readable")
        for m in bad:
            what = f"{count(m['unreadable_files'], 'file')}, {count(m['unreadable_folders'], 'folder')}"
            lines.append(f"  UNREADABLE {m['model']} ({r['name']}): {what} it cannot open or pass through")
            lines += [f"      {d['path']} ({d['kind']}: {d['why']})" for d in m["denied"]]
            lines.append(
                f"      fix: chown -R {doc['owner']} {m['path']}   (or: chmod -R u+rwX,go+rX {m['path']}); "
                "do not download it again"
            )
    return lines
