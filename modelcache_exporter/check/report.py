"""The `check` report as data (the JSON form; `text.py` renders it for people) and its exit status."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import replace
from typing import Any

from modelcache_exporter.check import readable
from modelcache_exporter.check.access import root_access, unique_roots
from modelcache_exporter.check.nextstart import next_start
from modelcache_exporter.check.partials import describe, snapshot_names
from modelcache_exporter.check.problems import model_problems, root_problems, untracked
from modelcache_exporter.check.required import required_report
from modelcache_exporter.config.flags import Config
from modelcache_exporter.fshealth.health import sample_fs
from modelcache_exporter.index.decide import Choice, choose_layout
from modelcache_exporter.index.memory import FILENAME, read_layouts
from modelcache_exporter.index.state import IndexStats, RootState, build_state
from modelcache_exporter.layouts import scan_root
from modelcache_exporter.ledger.partials import read_proc_locks
from modelcache_exporter.scan import UNKNOWN, detect_layout
from modelcache_exporter.scan.model import Model


def root_layout(cfg: Config, i: int, exclude: list[str]) -> Choice:
    """The layout the exporter would index root `i` in: the same rule (`index.decide`), reading the layouts
    it remembers in the state directory, writing nothing."""
    r = cfg.roots[i]
    remembered = read_layouts(os.path.join(cfg.path_state, FILENAME)).get(r.path) if cfg.path_state else None
    return choose_layout(r.layout, remembered, detect_layout(r.path, exclude) if r.layout == "auto" else UNKNOWN)


def storage(cfg: Config, path: str) -> dict[str, Any]:
    """The storage verdict of the filesystem holding `path`."""
    fs = sample_fs(path, cfg.path_procfs, cfg.path_sysfs, os.statvfs)
    return {
        "storage": fs.ephemeral or ("persistent" if fs.mount else "unknown"),
        "filesystem": fs.mount.fstype if fs.mount else "",
        "mountpoint": fs.mount.mountpoint if fs.mount else "",
        "usage_ratio": round(1 - fs.avail_bytes / fs.size_bytes, 4) if fs.size_bytes else None,
    }


def model_info(path: str, layout: str, m: Model, partials: list[dict[str, Any]]) -> dict[str, Any]:
    """One model: sizes, revisions (which one `main` names), its problems and partial downloads."""
    problems = model_problems(path, m) + (untracked(path, m.repo_id) if layout == "hf-local-dir" else [])
    return {
        "repo": m.repo_id,
        "type": m.repo_type,
        "size_bytes": m.size_bytes,
        "files": m.files,
        "fingerprint": m.fingerprint,
        "revisions": [v.commit for v in m.revisions],
        "main": next((v.commit for v in m.revisions if "main" in v.refs), None),
        "problems": problems,
        "downloads": partials,
    }


def nested(cfg: Config, i: int) -> list[str]:
    """Root-relative paths of the other roots inside root `i` (not counted twice)."""
    rels = [os.path.relpath(o.path, cfg.roots[i].path) for j, o in enumerate(cfg.roots) if j != i]
    return [rel for rel in rels if not rel.startswith("..")]


def scanned(cfg: Config, i: int, base: RootState, info: dict[str, Any]) -> tuple[RootState, dict[str, Any]]:
    """A root that can be read, scanned exactly."""
    r, exclude = cfg.roots[i], nested(cfg, i)
    scan = scan_root(r.path, info["layout"], r.model or os.path.basename(r.path), exclude, links=True)
    state = build_state(base, scan.models, scan.extras, IndexStats())
    locks, now, models = read_proc_locks(cfg.path_procfs), time.time(), []
    for m in state.models:
        links = snapshot_names(os.path.join(r.path, m.key)) if m.incomplete and info["layout"] == "hf-hub" else {}
        parts = [describe(r.path, info["layout"], m.repo_id, f, (links, locks, now)) for f in m.incomplete]
        models.append(model_info(r.path, info["layout"], m, [vars(p) for p in parts]))
    loose = [vars(describe(r.path, info["layout"], "(root)", f, ({}, locks, now))) for f in state.extras.incomplete]
    problems = root_problems(r.path, info["layout"], state.extras) + [p for m in models for p in m["problems"]]
    return state, {
        **info,
        "size_bytes": state.size_bytes,
        "models": models,
        "problems": problems,
        "downloads": [d for m in models for d in m["downloads"]] + loose,
    }


def root_report(cfg: Config, i: int) -> tuple[RootState, dict[str, Any]]:
    """One root: can it be looked at; if so its layout, models, problems; always its storage."""
    r = cfg.roots[i]
    access = root_access(r.path)
    info: dict[str, Any] = {
        "name": r.name,
        "path": r.path,
        "access": access.state,
        "reason": access.reason,
        "detail": access.detail,
        "present": access.state == "ok",
        **storage(cfg, r.path),
        "models": [],
        "problems": [],
        "downloads": [],
        "size_bytes": None,
    }
    base = RootState(r.name, r.path, "unknown", r.origin)
    if access.state != "ok":
        return base, {**info, "layout": r.layout if r.layout != "auto" else "unknown", "layout_source": "unknown"}
    choice = root_layout(cfg, i, nested(cfg, i))
    info.update(layout=choice.layout, layout_source=choice.source, size_bytes=0)
    base = replace(base, layout=choice.layout, layout_source=choice.source, present=True, ready=True, verified=True)
    if not choice.known:  # nothing in it tells its layout: not scanned as anything
        return base, info
    return scanned(cfg, i, base, info)


def ledger_report(state_dir: str) -> dict[str, Any]:
    """Downloads by verdict and the latest re-downloads, read-only (no ledger: empty report)."""
    path = os.path.join(state_dir, "ledger.sqlite")
    if not os.path.exists(path):
        return {"path": path, "available": False}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        by_reason = dict(db.execute("SELECT reason, COUNT(*) FROM downloads GROUP BY reason").fetchall())
        redl = db.execute(
            "SELECT ts, root, repo, ident, bytes FROM downloads WHERE reason='redownload' ORDER BY ts DESC LIMIT 20"
        ).fetchall()
        db.close()
    except sqlite3.Error as exc:
        return {"path": path, "available": False, "error": str(exc)}
    return {
        "path": path,
        "available": True,
        "downloads": by_reason,
        "redownloads": [
            {"time": ts, "root": root, "repo": repo, "artifact": ident, "bytes": b} for ts, root, repo, ident, b in redl
        ],
    }


def failures(roots: list[dict[str, Any]], required: list[dict[str, Any]], fail_on_ephemeral: bool) -> list[str]:
    """Why the report is not OK (empty: OK)."""
    out = [f"root {r['name']} ({r['path']}) {r['reason']}" for r in roots if r["access"] != "ok"]
    out += [
        f"root {r['name']}: parts cannot be read (permission)"
        for r in roots
        if any("CANNOT SEE" in p for p in r["problems"])
    ]
    words = {
        "missing": "missing",
        "unreadable": "cannot be seen",
        "incomplete": "incomplete",
        "downloading": "still being downloaded",
    }
    out += [f"required model {s['model']} {words[s['state']]}" for s in required if s["state"] != "complete"]
    if fail_on_ephemeral:
        out += [
            f"root {r['name']} is on {r['storage']} storage"
            for r in roots
            if r["storage"] not in ("persistent", "unknown")
        ]
    return out


def report(cfg: Config, fail_on_ephemeral: bool) -> tuple[dict[str, Any], int]:
    """The whole report and the exit status (0 OK, 1 not OK)."""
    kept, alias, notes = unique_roots(cfg.roots)
    reqs = tuple(replace(q, root=alias.get(q.root, q.root)) for q in cfg.required)
    cfg = replace(cfg, roots=tuple(kept), required=reqs)
    pairs = [root_report(cfg, i) for i in range(len(cfg.roots))]
    states, roots = [s for s, _ in pairs], [r for _, r in pairs]
    partials = {(r["name"], d["path"]): d for r in roots for d in r["downloads"]}
    required = required_report(cfg.required, states, roots, partials)
    access = readable.readable_report(cfg.readable_by, cfg.required, states)
    failed = failures(roots, required, fail_on_ephemeral) + readable.failures(access)
    doc = {
        "time": time.time(),
        "notes": notes,
        "roots": roots,
        "ledger": ledger_report(cfg.path_state),
        "ok": not failed,
        "failures": failed,
        "required": required,
        "readable": access,
        "next_start": next_start(cfg.required, states, cfg.path_state, float(cfg.ledger_default_throughput)),
    }
    return doc, 0 if not failed else 1
