"""Required models as `check` reports them: where each was found and in what state, and when it was not
found, every place it looked (root paths), so that "missing" never hides "could not look".

States: `complete`; `downloading` (only partial downloads lack); `incomplete` (files missing: the next start
downloads them again); `unreadable` (there, or possibly there, but permission denied: fix access, do not
download again); `missing` (looked everywhere it may be, not there).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from typing import Any

from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.required import Requirement, Status, evaluate

PREFIX = {"model": "models", "dataset": "datasets", "space": "spaces"}


def hub_key(req: Requirement) -> str:
    """The repo folder of a hub requirement (`models--org--name`)."""
    return f"{PREFIX.get(req.repo_type, 'models')}--{req.hub.replace('/', '--')}"


def seen(path: str, files: Sequence[str] = ()) -> str:
    """What is at a place looked at: 'absent', 'cannot be read (...)', 'there', or for a folder that must hold
    `files`: 'not there' when it holds none of them."""
    try:
        os.listdir(path)
        if files and not any(os.path.lexists(os.path.join(path, f)) for f in files):
            return "not there"
    except FileNotFoundError:
        return "no such folder"
    except NotADirectoryError:
        return "not a folder"
    except PermissionError:
        return "cannot be read (permission denied)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return "there"


def looked_in(req: Requirement, roots: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Every place the requirement may be (`for`: the files it must hold there), with what is there."""
    out = []
    for r in roots:
        if req.root and r["name"] != req.root:
            continue
        if r["access"] != "ok":
            out.append({"path": r["path"], "for": "", "found": f"root {r['reason']}"})
            continue
        if req.hub and r["layout"] == "hf-hub":
            key = os.path.join(r["path"], hub_key(req))
            out.append({"path": key, "for": "", "found": seen(key)})
        for d in req.dirs:
            base = os.path.normpath(os.path.join(r["path"], d))
            out.append({"path": base, "for": ", ".join(req.dir_files), "found": seen(base, req.dir_files)})
    return out


def _denied(base: str, names: Sequence[str]) -> bool:
    for n in names:
        try:
            os.stat(os.path.join(base, n))
        except PermissionError:
            return True
        except OSError:
            continue
    return False


def state_of(
    s: Status, states: Sequence[RootState], partial_paths: Collection[str], looked: list[dict[str, str]]
) -> str:
    """One of the states above."""
    if s.complete:
        return "complete"
    if not s.present:
        return "unreadable" if any(p["found"].startswith(("cannot", "root cannot")) for p in looked) else "missing"
    st = next((x for x in states if x.name == s.root), None)
    model = next((m for m in st.models if m.key == s.where), None) if st else None
    base = os.path.join(st.path, s.where) if st else ""
    if (model and any(e.kind == "permission" for e in model.errors)) or (base and _denied(base, s.missing)):
        return "unreadable"
    return "incomplete" if [m for m in s.missing if m not in partial_paths] else "downloading"


def busy_files(s: Status, partials: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    """{missing entry: what is downloading it}: partial paths, and the files partials will become (hub:
    relative to the snapshot, like the repo's missing files; folders: relative to the folder)."""
    out = {}
    for (root, path), d in partials.items():
        if root != s.root:
            continue
        out[path] = d["text"]
        file, where = d["file"], os.path.normpath(s.where)
        if not file:
            continue
        if path.startswith(s.where + "/") or where == ".":
            out.setdefault(file, d["text"])
        elif file.startswith(where + "/"):
            out.setdefault(os.path.relpath(file, where), d["text"])
    return out


def required_report(
    reqs: Sequence[Requirement],
    states: Sequence[RootState],
    roots: Sequence[dict[str, Any]],
    partials: dict[tuple[str, str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """One entry per requirement; `partials` maps (root, partial path) to its description."""
    out = []
    for req in reqs:
        s = evaluate(req, states)
        busy = busy_files(s, partials)
        looked = [] if s.present else looked_in(req, roots)
        state = state_of(s, states, busy, looked)
        out.append(
            {
                "model": s.name,
                "root": s.root,
                "where": s.where,
                "present": s.present,
                "complete": s.complete,
                "missing": [m for m in s.missing if m not in busy],
                "state": state,
                "downloading": sorted({busy[m] for m in s.missing if m in busy}),
                "looked_in": looked,
                "path": os.path.normpath(os.path.join(next(r["path"] for r in roots if r["name"] == s.root), s.where))
                if s.present
                else "",
            }
        )
    return out
