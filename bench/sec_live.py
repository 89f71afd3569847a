"""With a 1M-file cache indexed and watched: time from a blob landing (renamed into place from its
`.incomplete`, as huggingface_hub does) to the change on /metrics, and the idle footprint over 60 s."""

from __future__ import annotations

import os
import re
import time
import uuid

from common import Row
from data import cache
from exporter_proc import Exporter


def _downloads(text: str, root: str) -> float:
    m = re.search(rf'modelcache_downloads_total\{{reason="first",root="{root}"\}} (\S+)', text)
    return float(m.group(1)) if m else -1.0


def _files(text: str, root: str, repo: str) -> float:
    m = re.search(rf'modelcache_model_files\{{repo="{re.escape(repo)}",repo_type="model",root="{root}"\}} (\S+)', text)
    return float(m.group(1)) if m else -1.0


def _land(repo_dir: str) -> None:
    """A download finishing: partial file written, renamed into blobs/, linked from the snapshot."""
    etag = uuid.uuid4().hex + uuid.uuid4().hex
    blobs = os.path.join(repo_dir, "blobs")
    partial = os.path.join(blobs, f"{etag}.{uuid.uuid4().hex[:8]}.incomplete")
    with open(partial, "wb") as fh:
        fh.truncate(1_000_000)
    snap = os.path.join(repo_dir, "snapshots", os.listdir(os.path.join(repo_dir, "snapshots"))[0])
    os.rename(partial, os.path.join(blobs, etag))
    os.symlink(f"../../blobs/{etag}", os.path.join(snap, f"bench-{etag[:12]}.bin"))


def detection(ex: Exporter, root: str, repo_dir: str, repo: str, n: int) -> tuple[list[float], list[float]]:
    """Per landing: seconds until the model's file count changed, and until the download was counted."""
    index, ledger = [], []
    for _ in range(n):
        text = ex.metrics()
        files, counted = _files(text, root, repo), _downloads(text, root)
        t0 = time.perf_counter()
        _land(repo_dir)
        seen: dict[str, float] = {}
        while len(seen) < 2:
            if time.perf_counter() - t0 > 10:
                raise TimeoutError("change not seen within 10 s")
            text = ex.metrics()
            now = time.perf_counter() - t0
            if "index" not in seen and _files(text, root, repo) != files:
                seen["index"] = now
            if "ledger" not in seen and _downloads(text, root) != counted:
                seen["ledger"] = now
        index.append(seen["index"])
        ledger.append(seen["ledger"])
        time.sleep(0.3)
    return sorted(index), sorted(ledger)


def run(quick: bool) -> list[Row]:
    name = "10k" if quick else "1M"
    path = cache(name)
    root, key = f"cache-{name}", "models--org7--model-7"
    ex = Exporter(path)
    try:
        ex.wait_for(f'modelcache_index_verified{{root="{root}"}} 1.0')
        index, ledger = detection(ex, root, os.path.join(path, key), "org7/model-7", 10 if quick else 50)
        rows = [
            Row(
                "detection",
                "blob landed -> model size on /metrics",
                f"{name} files",
                index,
                target="< 1 s p99",
                note=f"p99 {index[int(len(index) * 0.99) - 1] * 1000:.0f} ms",
            ),
            Row(
                "detection",
                "blob landed -> downloads_total counted",
                f"{name} files",
                ledger,
                target="< 1 s p99",
                note=f"p99 {ledger[int(len(ledger) * 0.99) - 1] * 1000:.0f} ms",
            ),
        ]
        idle = 10 if quick else 60
        cpu0, t0 = ex.cpu_seconds(), time.monotonic()
        time.sleep(idle)
        cpu = (ex.cpu_seconds() - cpu0) / (time.monotonic() - t0)
        rows.append(
            Row(
                "footprint",
                f"ours, idle RSS over {idle} s",
                f"{name} files",
                [ex.status("VmRSS")],
                unit="MiB",
                target="<= 40 MiB",
            )
        )
        rows.append(
            Row(
                "footprint",
                f"ours, idle CPU over {idle} s",
                f"{name} files",
                [cpu * 100],
                unit="% of a core",
                target="< 1 %",
            )
        )
        return rows
    finally:
        ex.stop()
