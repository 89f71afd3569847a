"""The whole /metrics text for a fixed fixture cache, compared with a golden file and linted by promtool.

Update with `UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py` after an intended change, and
review the diff. Families whose values depend on time or on the machine are left out, as in
node_exporter's end-to-end test.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import cachefixture
from helpers import InProcess, require_tool

GOLDEN = Path(__file__).parent / "golden" / "metrics.prom"
SKIP = re.compile(r"_duration_seconds|_timestamp_seconds|_allocated_bytes|^process_|build_info")


def family(line: str) -> str:
    if line.startswith("# "):
        return line.split()[2]
    return re.split(r"[{ ]", line, maxsplit=1)[0]


def stable_text(text: str, root: Path) -> str:
    kept = [line for line in text.splitlines() if line and not SKIP.search(family(line))]
    return "\n".join(kept).replace(str(root), "<ROOT>") + "\n"


def test_metrics_match_the_golden_file(tmp_path: Path) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    args = [
        "--path.cache",
        str(cache),
        "--path.cache",
        str(tmp_path / "missing"),
        "--path.state",
        str(tmp_path / "state"),
        "--no-collector.filesystem",
        "--no-collector.diskstats",
        "--no-collector.probe",
        "--collector.cache.scan-workers",
        "0",
        "--collector.required.profile",
        "indextts2",  # none of them in the fixture: the next-start forecast counts them unknown
        "--collector.required.readable-by",
        "65534:65534",
    ]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        ex.wait("modelcache_index_ready", lambda v: v == 1, root="missing")
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 12, root="hub")
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 0, root="missing")
        ex.wait("modelcache_verify_progress_ratio", lambda v: v == 1, 30, root="hub")
        ex.wait("modelcache_readable_last_check_timestamp_seconds", lambda v: v is not None, 30, root="hub")
        text = stable_text(ex.text(), tmp_path)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_golden_file_passes_promtool_lint() -> None:
    promtool = require_tool("promtool")
    proc = subprocess.run([promtool, "check", "metrics"], input=GOLDEN.read_bytes(), capture_output=True)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_full_live_output_passes_promtool_lint(tmp_path: Path) -> None:
    """Every collector on (filesystem, disk, probe included), not only the golden part."""
    promtool = require_tool("promtool")
    cache = cachefixture.build(tmp_path / "hub")
    args = ["--path.cache", str(cache), "--path.state", str(tmp_path / "state"), "--collector.probe.interval", "1s"]
    with InProcess(args) as ex:
        ex.wait("modelcache_probe_duration_seconds_count", lambda v: (v or 0) >= 1, root="hub", op="read")
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        text = ex.text()
    assert "modelcache_filesystem_usage_ratio{" in text and "modelcache_disk_" in text
    proc = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
