"""Issue 18: what the next start of the web UI would cost, with the real huggingface_hub client against the
throttled fake Hub, the exporter in this process and a web UI log: a cold start records the host's throughput;
a required repo deleted while the web UI serves shows as the bytes and seconds the next start would take
(close to what the real re-download then takes); the shipped rule pages on what the exporter served; the
files restored bring both back to nothing to fetch."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml
from fakehub import FakeHub, hermetic_client, run_download
from helpers import InProcess
from pages import Timeline, used_metrics
from scenario import LOAD_LINES, READY_LINE

import mixin.alerts as gen
from modelcache_exporter.base.human import size
from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.forecast import RootForecast, Throughput, forecast, throughput
from modelcache_exporter.ledger.required import Requirement, Status
from modelcache_exporter.ledger.store import KnownFile

RATE = 2_000_000  # bytes per second the fake Hub serves each download at
TTS = {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * 6_000_000}
VOC = {"config.json": b"{}\n", "weights.bin": b"\x02" * 3_000_000}
TTS_BYTES = sum(len(b) for b in TTS.values())
ARGS = [
    "--collector.required.interval=1s",
    "--collector.cache.scan-workers=0",
    "--collector.logs.poll-interval=50ms",
    "--no-collector.filesystem",
    "--no-collector.diskstats",
    "--no-collector.probe",
]


def _config(tmp: Path, cache: Path, log: Path) -> Path:
    doc = {
        "roots": [{"path": str(cache), "name": "hub", "layout": "hf-hub"}],
        "required": [{"hub": "org/tts", "root": "hub"}, {"hub": "org/voc"}, {"hub": "org/absent"}],
        "logs": [{"name": "webui", "path": str(log)}],
    }
    path = tmp / "modelcache.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _append(log: Path, lines: list[str]) -> None:
    with log.open("a") as fh:
        fh.write("".join(line + "\n" for line in lines))


def _cold_start(hub: FakeHub, cache: Path, log: Path) -> None:
    """The web UI's first start: it logs its loading, downloads its models, then serves."""
    _append(log, LOAD_LINES)
    for repo in ("org/tts", "org/voc"):
        run_download(hub, repo_id=repo, cache_dir=str(cache))
    _append(log, [READY_LINE])


def _timed_redownload(hub: FakeHub, cache: Path) -> float:
    """Seconds the real client takes to download org/tts again (in this process: no interpreter start)."""
    from huggingface_hub import snapshot_download

    with hermetic_client():
        t0 = time.monotonic()
        snapshot_download("org/tts", cache_dir=str(cache), endpoint=hub.endpoint)
        return time.monotonic() - t0


def _shown_by_check_and_landing_page(ex: InProcess, args: list[str], head: str) -> None:
    """`check` (a process of its own, on a read-only copy of the running ledger) and the landing page say what
    the next start would download, file by file, with the command that restores each."""
    out = subprocess.run(
        [sys.executable, "-m", "modelcache_exporter", "check", *args], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1, out.stderr  # a required model is missing
    assert f"NEXT START: downloads {size(TTS_BYTES)} in 2 files, about " in out.stdout, out.stdout
    assert f"  hub  org/tts  model.safetensors  {size(len(TTS['model.safetensors']))}  (hf download org/tts " \
        f"model.safetensors --revision {head})" in out.stdout  # fmt: skip
    assert "  org/absent: missing and never seen by the ledger here: its size is unknown" in out.stdout
    page = ex.exporter.landing()
    assert "<h2>Next start</h2>" in page and f"a restart now downloads {size(TTS_BYTES)} in 2 files" in page
    assert f"<code>hf download org/tts model.safetensors --revision {head}</code>" in page
    assert "next start: downloads " in page  # in the attention list at the top


def test_a_deleted_required_repo_is_the_next_starts_cost_until_restored(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tts", TTS)
    hub.add_repo("org/voc", VOC)
    hub.throttle_bytes_per_second = RATE
    cache, log = tmp_path / "hub", tmp_path / "webui.log"
    cache.mkdir()
    log.write_text("")
    timeline = Timeline(wanted=used_metrics())
    args = ["--config.file", str(_config(tmp_path, cache, log)), "--path.state", str(tmp_path / "state"), *ARGS]
    with InProcess(args) as ex:
        ex.wait("modelcache_index_ready", lambda v: v == 1, root="hub")
        _cold_start(hub, cache, log)
        ex.wait("modelcache_webui_ready", lambda v: v == 1)
        load = ex.wait("modelcache_webui_last_load_duration_seconds", lambda v: v is not None)
        ex.wait("modelcache_download_throughput_samples", lambda v: (v or 0) >= 2)  # tts and voc, not the configs
        rate = ex.wait("modelcache_download_throughput_bytes_per_second", lambda v: v is not None)
        assert abs(rate - RATE) < 0.2 * RATE, rate
        ex.wait("modelcache_required_model_complete", lambda v: v == 1, root="hub", model="org/voc")
        ex.wait("modelcache_next_start_download_bytes", lambda v: v == 0, root="hub")
        assert ex.get("modelcache_next_start_unknown_models", root="") == 1  # org/absent: never seen, no size
        assert ex.get("modelcache_next_start_forecast_seconds", root="hub") == load  # nothing to fetch: the load
        for _ in range(3):
            timeline.scrape(ex.text(), "gpu-1", time.time())
        timeline.expect("warm, serving, nothing missing")

        shutil.rmtree(cache / "models--org--tts")  # damaged while the web UI serves
        ex.wait("modelcache_next_start_download_bytes", lambda v: v == TTS_BYTES, timeout=5.0, root="hub")
        forecast = ex.get("modelcache_next_start_forecast_seconds", root="hub")
        assert forecast == TTS_BYTES / rate + load
        assert ex.get("modelcache_webui_ready") == 1 and ex.get("modelcache_next_start_unknown_models", root="hub") == 0
        fc = ex.exporter.ledger.forecast if ex.exporter.ledger else None
        assert fc is not None and sorted((f.repo, f.path, f.bytes) for f in fc.files) == [
            ("org/tts", "config.json", len(TTS["config.json"])),
            ("org/tts", "model.safetensors", len(TTS["model.safetensors"])),
        ]
        assert {f.revision for f in fc.files} == {hub.head("org/tts")}
        _shown_by_check_and_landing_page(ex, args, hub.head("org/tts"))
        for _ in range(25):  # over the rule's `for:` (5m) at a 15 s scrape interval
            timeline.scrape(ex.text(), "gpu-1", time.time())
        timeline.expect(
            "files gone while serving (most of the root's bytes: a wipe too)",
            ModelCacheNextStartSlow=[{"root": "hub", "severity": "warning"}],
            ModelCacheWiped=[{"root": "hub"}],
        )

        took = _timed_redownload(hub, cache)  # the restore: what the next start would have spent downloading
        assert abs((forecast - load) - took) < 0.2 * took, (forecast, load, took)
        ex.wait("modelcache_next_start_download_bytes", lambda v: v == 0, timeout=5.0, root="hub")
        ex.wait("modelcache_next_start_forecast_seconds", lambda v: v == load, root="hub")
        timeline.scrape(ex.text(), "gpu-1", time.time())
        timeline.expect(
            "restored: no next-start page; the restore itself was a re-download",
            ModelCacheUnexpectedRedownload=[{"root": "hub", "repo": "org/tts"}],
            ModelCacheWiped=[{"root": "hub"}],
        )
    # the warning's threshold lowered under this test's seconds-long forecast; the rule itself is the shipped one
    rules = tmp_path / "rules.yml"
    low = {**gen.THRESHOLDS, "next_start_warning_seconds": 1}
    rules.write_text(gen.render(thresholds=low)[gen.RULES_FILE])
    timeline.verify(tmp_path, rules)


# -- the pure forecast: folders, pinned revisions, the throughput estimate ------------------------------------


class _Known:
    """A ledger's memory of files, as `forecast.Known` reads it."""

    def __init__(self, root: str, files: list[KnownFile]) -> None:
        self.root, self.files = root, files

    def model_files(self, root: str, model: str) -> list[KnownFile]:
        return [f for f in self.files if root == self.root and f.model == model]

    def files_at(self, root: str, paths: list[str]) -> list[KnownFile]:
        return [f for f in self.files if root == self.root and f.path in paths]


def test_throughput_is_the_median_of_timed_downloads_else_the_default() -> None:
    mib = 1 << 20
    assert throughput([], 10e6) == Throughput(10e6, 0)
    assert throughput([(1.0, 1000, 5.0), (2.0, 8 * mib, 0.5)], 10e6) == Throughput(10e6, 0)  # latency, not bandwidth
    got = throughput([(1.0, 4 * mib, 2.0), (2.0, 4 * mib, 1.0), (3.0, 400 * mib, 1.0)], 10e6)
    assert got == Throughput(4 * mib, 3)  # one outlier does not move a median


def test_a_folder_requirement_uses_the_latest_file_seen_at_each_path_and_pins_win() -> None:
    state = RootState("ckpt", "/models", "plain", "configured", present=True, ready=True)
    req = Requirement("IndexTeam/IndexTTS-2", dirs=("checkpoints",), dir_files=("gpt.pth", "bpe.model"))
    known = _Known(
        "ckpt",
        [
            KnownFile("checkpoints", "", "checkpoints/gpt.pth", "checkpoints/gpt.pth:100", 1.0, 100, False),
            KnownFile("checkpoints", "", "checkpoints/gpt.pth", "checkpoints/gpt.pth:300", 2.0, 300, False),
            KnownFile("checkpoints", "", "checkpoints/bpe.model", "checkpoints/bpe.model:5", 1.0, 5, True),
        ],
    )
    fc = forecast([(req, Status(req.name))], [state], known, Throughput(100.0, 1), 2.0)
    assert [(f.path, f.bytes) for f in fc.files] == [("checkpoints/gpt.pth", 300)]  # the update, not the old size
    assert fc.roots == (RootForecast("ckpt", 300, 0, 5.0),) and fc.seconds == 5.0
    hub_state = RootState("hub", "/hub", "hf-hub", "configured", present=True, ready=True)
    old, new = "a" * 40, "b" * 40
    key = "models--org--m"
    files = [KnownFile(key, old, "w.bin", "e1", 1.0, 10, False), KnownFile(key, new, "w.bin", "e2", 2.0, 20, False)]
    pinned = Requirement("org/m", hub="org/m", revision=old)
    fc = forecast([(pinned, Status("org/m"))], [hub_state], _Known("hub", files), Throughput(10.0, 0), None)
    assert [(f.revision, f.bytes) for f in fc.files] == [(old, 10)] and fc.seconds == 1.0
    latest = Requirement("org/m", hub="org/m")
    fc = forecast([(latest, Status("org/m"))], [hub_state], _Known("hub", files), Throughput(10.0, 0), None)
    assert [(f.revision, f.bytes) for f in fc.files] == [(new, 20)]
    done = Status("org/m", complete=True)
    fc = forecast([(latest, done)], [hub_state], _Known("hub", files), Throughput(10.0, 0), None)
    assert fc.files == () and fc.unknown_models == ()


def test_a_ledger_from_before_the_files_table_learns_the_files_at_the_next_start(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tts", TTS)
    hub.add_repo("org/voc", VOC)
    cache, log, state = tmp_path / "hub", tmp_path / "webui.log", tmp_path / "state"
    for repo in ("org/tts", "org/voc"):
        run_download(hub, repo_id=repo, cache_dir=str(cache))
    log.write_text("")
    args = ["--config.file", str(_config(tmp_path, cache, log)), "--path.state", str(state), *ARGS]
    with InProcess(args) as ex:
        ex.wait("modelcache_ledger_artifacts", lambda v: v == 4, root="hub")
    db = sqlite3.connect(state / "ledger.sqlite")
    with db:
        db.execute("DELETE FROM files")  # what an older version's ledger holds: artifacts, no files
    db.close()
    with InProcess(args) as ex:  # the exporter upgraded: it reads the files of what is there
        ex.wait("modelcache_next_start_download_bytes", lambda v: v == 0, root="hub")
        shutil.rmtree(cache / "models--org--tts")
        ex.wait("modelcache_next_start_download_bytes", lambda v: v == TTS_BYTES, timeout=5.0, root="hub")
        assert ex.get("modelcache_next_start_unknown_models", root="hub") == 0
