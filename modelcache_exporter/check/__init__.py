"""`modelcache-exporter check`: one exact look at every cache root, for people, CI and container start-up.

Prints each root (layout, storage verdict, models and sizes, problems), the required models, and the
ledger's download history; `--format json` for machines. Exit status: 0 when every required model is
complete (and, with `--fail-on-ephemeral`, no root is on storage lost at restart), 1 otherwise, 2 for
invalid configuration. It reads the caches and the ledger; it writes nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.config.flags import Config
from modelcache_exporter.config.load import load_config
from modelcache_exporter.config.parser import PROG, build_parser
from modelcache_exporter.fshealth.health import sample_fs
from modelcache_exporter.index.decide import Choice, choose_layout
from modelcache_exporter.index.memory import FILENAME, read_layouts
from modelcache_exporter.index.state import IndexStats, RootState, build_state
from modelcache_exporter.layouts import scan_root
from modelcache_exporter.ledger.required import Status, evaluate
from modelcache_exporter.scan import UNKNOWN, detect_layout


def root_layout(cfg: Config, i: int, exclude: list[str]) -> Choice:
    """The layout the exporter would index root `i` in: the same rule (`index.decide`), reading the layouts
    it remembers in the state directory, writing nothing."""
    r = cfg.roots[i]
    remembered = read_layouts(os.path.join(cfg.path_state, FILENAME)).get(r.path) if cfg.path_state else None
    return choose_layout(r.layout, remembered, detect_layout(r.path, exclude) if r.layout == "auto" else UNKNOWN)


def root_report(cfg: Config, i: int) -> tuple[RootState, dict[str, Any]]:
    """Scan one root exactly and describe its storage."""
    r = cfg.roots[i]
    others = [o for o in cfg.roots if o is not r]
    exclude = [os.path.relpath(o.path, r.path) for o in others if not os.path.relpath(o.path, r.path).startswith("..")]
    choice = root_layout(cfg, i, exclude)
    base = RootState(r.name, r.path, choice.layout, r.origin, choice.source)
    fs = sample_fs(r.path, cfg.path_procfs, cfg.path_sysfs, os.statvfs)
    info: dict[str, Any] = {"name": r.name, "path": r.path, "present": os.path.isdir(r.path),
                            "storage": fs.ephemeral or ("persistent" if fs.mount else "unknown"),
                            "filesystem": fs.mount.fstype if fs.mount else "", "mountpoint": fs.mount.mountpoint
                            if fs.mount else "", "usage_ratio": round(1 - fs.avail_bytes / fs.size_bytes, 4)
                            if fs.size_bytes else None}
    info.update(layout=choice.layout, layout_source=choice.source)
    if not info["present"]:
        return base, {**info, "models": [], "problems": ["missing"]}
    base = replace(base, present=True, ready=True, verified=True)
    if not choice.known:  # nothing in it tells its layout: not scanned as anything
        return base, {**info, "models": [], "problems": [], "size_bytes": 0}
    scan = scan_root(r.path, choice.layout, r.model or os.path.basename(r.path), exclude, links=True)
    state = build_state(base, scan.models, scan.extras, IndexStats())
    problems = [f"{n} {k.replace('_', ' ')}" for k, n in (*state.corruption, *state.errors)]
    problems += [f"partial download {f.path}" for f in state.incomplete]
    models = [{"repo": m.repo_id, "type": m.repo_type, "size_bytes": m.size_bytes, "files": m.files,
               "revisions": [v.commit for v in m.revisions]} for m in state.models]
    return state, {**info, "size_bytes": state.size_bytes, "models": models, "problems": problems}


def ledger_report(state_dir: str) -> dict[str, Any]:
    """Downloads by verdict and the latest re-downloads, read-only (no ledger: empty report)."""
    path = os.path.join(state_dir, "ledger.sqlite")
    if not os.path.exists(path):
        return {"path": path, "available": False}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        by_reason = dict(db.execute("SELECT reason, COUNT(*) FROM downloads GROUP BY reason").fetchall())
        redl = db.execute("SELECT ts, root, repo, ident, bytes FROM downloads WHERE reason='redownload' "
                          "ORDER BY ts DESC LIMIT 20").fetchall()
        db.close()
    except sqlite3.Error as exc:
        return {"path": path, "available": False, "error": str(exc)}
    return {"path": path, "available": True, "downloads": by_reason,
            "redownloads": [{"time": ts, "root": root, "repo": repo, "artifact": ident, "bytes": b}
                            for ts, root, repo, ident, b in redl]}


def report(cfg: Config, fail_on_ephemeral: bool) -> tuple[dict[str, Any], int]:
    """The whole report and the exit status."""
    states, roots = [], []
    for i in range(len(cfg.roots)):
        state, info = root_report(cfg, i)
        states.append(state)
        roots.append(info)
    required: list[Status] = [evaluate(req, states) for req in cfg.required]
    failures = [f"required model {s.name} {'incomplete' if s.present else 'missing'}" for s in required
                if not s.complete]
    if fail_on_ephemeral:
        failures += [f"root {r['name']} is on {r['storage']} storage" for r in roots
                     if r["storage"] not in ("persistent", "unknown")]
    doc = {"time": time.time(), "roots": roots, "ledger": ledger_report(cfg.path_state), "ok": not failures,
           "failures": failures, "required": [{"model": s.name, "root": s.root, "where": s.where,
                                               "present": s.present, "complete": s.complete,
                                               "missing": list(s.missing)} for s in required]}
    return doc, 0 if not failures else 1


def main(argv: Sequence[str]) -> int:
    """Entry point of `modelcache-exporter check`."""
    p = build_parser()
    p.prog = f"{PROG} check"
    p.add_argument("--format", dest="check.format", choices=["text", "json"], default="text")
    p.add_argument("--fail-on-ephemeral", dest="check.ephemeral", action="store_true", default=False)
    try:
        flags = vars(p.parse_args(list(argv)))
        fmt, ephemeral = flags.pop("check.format"), flags.pop("check.ephemeral")
        cfg = load_config(flags, dict(os.environ))
    except ConfigError as exc:
        print(f"{PROG}: invalid configuration: {exc}", file=sys.stderr)
        return 2
    doc, status = report(cfg, ephemeral)
    if fmt == "json":
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        from modelcache_exporter.check.text import render

        print(render(doc))
    return status
