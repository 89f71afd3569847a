"""README stays true: every flag and every exported metric family is documented."""

from __future__ import annotations

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


def test_every_metric_family_is_in_the_readme(tmp_path: Path) -> None:
    cache = cachefixture.build(tmp_path / "hub")
    log = Path(__file__).parent / "fixtures" / "logs" / "indextts2-first-start-with-downloads.log"
    args = ["--path.cache", str(cache), "--path.state", str(tmp_path / "s"), "--collector.probe.interval", "1s",
            "--collector.required.profile", "indextts2", "--path.webui-log", str(log)]
    with InProcess(args, extra_sources=[ReloadCollector(ReloadStatus())]) as ex:
        ex.wait("modelcache_probe_duration_seconds_count", lambda v: (v or 0) >= 1, root="hub", op="read")
        ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
        ex.wait("modelcache_webui_ready", lambda v: v == 1)
        text = ex.text()
    names = {f.name + ("_total" if f.type == "counter" else "") for f in text_string_to_metric_families(text)}
    missing = sorted(n for n in names if n.startswith("modelcache_") and f"`{n}`" not in README)
    assert not missing
