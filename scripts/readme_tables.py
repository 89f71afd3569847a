"""Print the README's flag table and metric table from the code (paste them into README.md).

    python scripts/readme_tables.py flags
    python scripts/readme_tables.py metrics     # runs the exporter in-process on a fixture cache

`tests/test_docs.py` fails when a flag or a metric family is missing from README.md.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def flags() -> str:
    from modelcache_exporter.config.flags import env_name, settings

    rows = ["| flag | default | environment | meaning |", "|---|---|---|---|"]
    for f in settings():
        flag, kind, d = f.metadata["flag"], f.metadata["kind"], f.default
        name = f"`--{flag}`"
        if kind == "bool":
            name, d = f"`--[no-]{flag}`", "on" if d else "off"
        elif kind == "paths":
            name, d = f"`--{flag}` (repeatable)", "discovered" if flag == "path.cache" else "none"
        elif kind == "duration":
            d = f"{d:g}s"
        if flag == "path.state":
            d = "$XDG_STATE_HOME/modelcache-exporter"
        rows.append(f"| {name} | `{d if d != '' else '-'}` | `{env_name(flag)}` | {f.metadata['help']} |")
    return "\n".join(rows)


def metrics() -> str:
    import cachefixture
    from helpers import InProcess

    from modelcache_exporter.collectors.reload import ReloadCollector, ReloadStatus

    with tempfile.TemporaryDirectory() as tmp:
        cache = cachefixture.build(Path(tmp) / "hub")
        log = ROOT / "tests" / "fixtures" / "logs" / "indextts2-first-start-with-downloads.log"
        args = ["--path.cache", str(cache), "--path.state", f"{tmp}/state", "--collector.probe.interval", "1s",
                "--collector.required.profile", "indextts2", "--path.webui-log", str(log)]
        with InProcess(args, extra_sources=[ReloadCollector(ReloadStatus())]) as ex:
            ex.wait("modelcache_probe_duration_seconds_count", lambda v: (v or 0) >= 1, root="hub", op="read")
            ex.wait("modelcache_index_verified", lambda v: v == 1, root="hub")
            ex.wait("modelcache_webui_ready", lambda v: v == 1)
            families = list(ex.registry.collect())
    rows = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for fam in families:
        if fam.name.startswith("modelcache_"):
            declared = set(getattr(fam, "_labelnames", ()))  # families with no sample yet still name their labels
            labels = sorted(({k for s in fam.samples for k in s.labels} | declared) - {"le", "quantile"})
            name = fam.name + ("_total" if fam.type == "counter" else "")
            rows.append(f"| `{name}` | {fam.type} | {', '.join(labels)} | {fam.documentation} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print({"flags": flags, "metrics": metrics}[sys.argv[1] if len(sys.argv) > 1 else "flags"]())
