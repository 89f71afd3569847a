"""`modelcache-exporter check --verify`: hash every verifiable file now and name each corrupt one.

Reads the roots the exporter would watch (never writes into them, nor into the state directory), with no IO
budget; a progress bar on a terminal (tqdm, on stderr), one summary line otherwise. Exit 1 on any corrupt
file, 0 otherwise (a model being downloaded into is skipped, and says so).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable

from modelcache_exporter.base.human import size
from modelcache_exporter.config.flags import Config
from modelcache_exporter.integrity.names import blob_files
from modelcache_exporter.integrity.run import ModelResult, verify_model
from modelcache_exporter.integrity.targets import model_keys, model_targets
from modelcache_exporter.scan.detect import detect_layout
from modelcache_exporter.scan.hub import parse_repo_dirname


def _plan(cfg: Config, only: str) -> list[tuple[str, str, str, str]]:
    """(root name, root path, layout, model key) of every model to verify (`only`: that repo id or key)."""
    plan = []
    for root in cfg.roots:
        layout = root.layout if root.layout != "auto" else detect_layout(root.path)
        for key in model_keys(root.path, layout):
            repo = (parse_repo_dirname(key) or ("", key))[1] if layout == "hf-hub" else key
            if not only or only in (repo, key):
                plan.append((root.name, root.path, layout, key))
    return plan


def _bar(total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(advance by bytes, close) of a progress bar on a terminal; no-ops otherwise."""
    if not sys.stderr.isatty():
        return (lambda _n: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, desc="verifying", file=sys.stderr)

    def advance(n: int) -> None:
        bar.update(n)

    return advance, bar.close


def _names(path: str, layout: str, key: str, result: ModelResult) -> list[str]:
    """One line per corrupt file: repo, revision and path (hub: every snapshot file the blob is)."""
    repo = (parse_repo_dirname(key) or ("", key))[1] if layout == "hf-hub" else key
    if result.busy:
        return [f"SKIPPED {repo}: a download into it is in progress"]
    if layout != "hf-hub":
        return [f"CORRUPT {repo} {name}" for name in result.corrupt]
    files = blob_files(os.path.join(path, key))
    lines = []
    for blob in result.corrupt:
        for rev, rel in files.get(blob, [("-", "(no snapshot file)")]):
            lines.append(f"CORRUPT {repo} revision={rev} path={rel} blob={blob}")
    return lines


def run_verify(cfg: Config, only: str) -> int:
    """Verify now; print each corrupt file and a summary; 1 when anything is corrupt, else 0."""
    t0, plan = time.monotonic(), _plan(cfg, only)
    total = 0
    for _name, path, layout, key in plan:
        for t in model_targets(path, layout, key).targets:
            with contextlib.suppress(OSError):
                total += os.stat(t.path).st_size
    advance, close = _bar(total)
    results = [
        (name, path, layout, key, verify_model(path, layout, key, "", 0, advance)) for name, path, layout, key in plan
    ]
    close()
    for name, path, layout, key, r in results:
        for line in _names(path, layout, key, r):
            print(f"{line} root={name}")
    files, nbytes = sum(r[4].files for r in results), sum(r[4].bytes for r in results)
    corrupt = sum(len(r[4].corrupt) for r in results)
    other = sum(r[4].unverifiable for r in results)
    unread = sum(r[4].unreadable for r in results)
    print(
        f"RESULT {'CORRUPT' if corrupt else 'OK'}: {files} files ({size(nbytes)}) match their hash, {corrupt} corrupt, "
        f"{other} without a hash, {unread} unreadable; {len(plan)} models in {time.monotonic() - t0:.1f}s"
    )
    return 1 if corrupt else 0
