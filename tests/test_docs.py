"""README stays true: every flag and every exported metric family is documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cachefixture
from helpers import REPO_ROOT, InProcess
from prometheus_client.parser import text_string_to_metric_families

from modelcache_exporter.collectors.reload import ReloadCollector, ReloadStatus
from modelcache_exporter.config.flags import env_name, settings

README = (REPO_ROOT / "README.md").read_text()


def test_every_flag_is_in_the_readme() -> None:
    for f in settings():
        flag = f.metadata["flag"]
        assert f"--{flag}`" in README or f"--[no-]{flag}`" in README, flag
        assert env_name(flag) in README, env_name(flag)


ROW = r"\| `--(?:\[no-\])?([a-z0-9.-]+)`(?: \(repeatable\))? \| `([^`]*)` \| `(\w+)` \| (.*) \|"


def _readme_flags() -> dict[str, tuple[str, str, str]]:
    """The README's flag table: flag -> (default, variable, meaning)."""
    rows: dict[str, tuple[str, str, str]] = {}
    for line in README.splitlines():
        m = re.fullmatch(ROW, line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3), m.group(4))
    return rows


def test_the_readme_flag_table_says_what_help_says() -> None:
    """Same flags, same defaults (`-` for none), same variables, same words, in README and `--help`."""
    out = subprocess.run(
        [sys.executable, "-m", "modelcache_exporter", "--help"],
        capture_output=True, text=True, check=True, timeout=30, cwd=REPO_ROOT,
    ).stdout  # fmt: skip
    helped = {}
    for line in out.splitlines():
        m = re.fullmatch(r"  --(?:\[no-\])?([a-z0-9.-]+)(?:=\S+)? +(.*)", line)
        if m and m.group(1) not in ("help", "version"):
            helped[m.group(1)] = m.group(2)
    readme = _readme_flags()
    assert sorted(readme) == sorted(f.metadata["flag"] for f in settings())
    assert sorted(helped) == sorted(readme)
    for flag, (default, env, meaning) in readme.items():
        assert env == env_name(flag)
        said = f"(default: {default}; env {env})" if default != "-" else f"(env {env})"
        assert helped[flag] == f"{meaning} {said}", flag


def test_every_metric_family_is_in_the_readme(tmp_path: Path) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    log = Path(__file__).parent / "fixtures" / "logs" / "indextts2-first-start-with-downloads.log"
    args = [
        "--path.cache",
        str(cache),
        "--path.state",
        str(tmp_path / "s"),
        "--collector.probe.interval",
        "1s",
        "--collector.required.profile",
        "indextts2",
        "--path.webui-log",
        str(log),
    ]
    with InProcess(args, extra_sources=[ReloadCollector(ReloadStatus())]) as ex:
        ex.wait("modelcache_probe_duration_seconds_count", lambda v: (v or 0) >= 1, root="hub", op="read")
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        ex.wait("modelcache_webui_ready", lambda v: v == 1)
        text = ex.text()
    names = {f.name + ("_total" if f.type == "counter" else "") for f in text_string_to_metric_families(text)}
    missing = sorted(n for n in names if n.startswith("modelcache_") and f"`{n}`" not in README)
    assert not missing
