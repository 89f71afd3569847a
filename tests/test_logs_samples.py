"""The three sample IndexTTS2 logs (tests/fixtures/logs, copied from the reference) yield the expected
events, stages and download counts: read as a backlog at first sight, and replayed live."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import samples, value
from logtools import SAMPLES, metrics, monitor

W2V, MASKGCT, CAMPPLUS = "facebook/w2v-bert-2.0", "amphion/MaskGCT", "funasr/campplus"
BIGVGAN = "nvidia/bigvgan_v2_22khz_80band_256x"
CLASSIC_STAGES = ["gpt", "semantic_codec", "s2mel", "campplus", "bigvgan", "text_normalizer", "bpe"]
EXPECTED = {
    "downloads": {
        "stages": CLASSIC_STAGES,
        "downloads": {("hf", W2V): 3, ("hf", MASKGCT): 1, ("hf", CAMPPLUS): 1, ("hf", BIGVGAN): 2},
        "bytes": {("hf", W2V): 275 + 1360 + 2_320_000_000, ("hf", MASKGCT): 177e6, ("hf", CAMPPLUS): 28e6},
        "matched": {"indextts2": 14, "huggingface_hub": 7, "modelscope": 0, "gradio": 2, "wetext": 7},
        "requests": 0,
    },
    "head": {
        "stages": ["model_download", "auxiliary_models", *CLASSIC_STAGES],
        "downloads": {
            ("indextts", "IndexTeam/IndexTTS-2"): 1,
            ("indextts", W2V): 1,
            ("indextts", MASKGCT): 1,
            ("indextts", CAMPPLUS): 1,
            ("indextts", BIGVGAN): 1,
        },
        "bytes": {},
        "matched": {"indextts2": 21, "huggingface_hub": 2, "modelscope": 0, "gradio": 2, "wetext": 7},
        "requests": 0,
    },
    "warm": {
        "stages": CLASSIC_STAGES,
        "downloads": {},
        "bytes": {},
        "matched": {"indextts2": 19, "huggingface_hub": 0, "modelscope": 0, "gradio": 2, "wetext": 6},
        "requests": 1,
    },
}


def _counter(text: str, name: str) -> dict[tuple[str, str], float]:
    out = {}
    for (sample, labels), v in samples(text).items():
        if sample == name and v:
            d = dict(labels)
            out[(d["source"], d["repo"])] = v
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_read_as_backlog(tmp_path: Path, name: str) -> None:
    log = tmp_path / "webui.log"
    log.write_bytes(SAMPLES[name].read_bytes())
    mon, rec = monitor([log])
    mon.poll_once()
    want = EXPECTED[name]
    assert [e.stage for e in rec.of("stage")] == want["stages"]
    assert len(rec.of("ready")) == 1
    assert all(not e.timed for e in rec.of("stage"))  # backlog: times are only upper bounds
    text = metrics(mon)
    assert _counter(text, "modelcache_log_downloads_started_total") == want["downloads"]
    assert _counter(text, "modelcache_log_downloads_finished_total") == want["downloads"]
    for key, size in want["bytes"].items():
        assert _counter(text, "modelcache_log_download_bytes_total")[key] == size
    for profile, n in want["matched"].items():
        assert value(text, "modelcache_log_lines_matched_total", log="webui", profile=profile) == n
    assert value(text, "modelcache_webui_requests_total") == want["requests"]
    assert value(text, "modelcache_webui_ready") == 1
    assert value(text, "modelcache_log_downloads_in_progress", source="hf") == 0
    assert value(text, "modelcache_webui_load_duration_seconds_count") == 0  # a backlog has no timing


def test_download_events_carry_file_repo_bytes_and_tqdm_duration(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    log.write_bytes(SAMPLES["downloads"].read_bytes())
    mon, rec = monitor([log])
    mon.poll_once()
    done = [(e.file, e.repo, e.bytes_total, e.seconds) for e in rec.of("download_finished")]
    assert done == [
        ("preprocessor_config.json", W2V, 275, 0.0),
        ("config.json", W2V, 1360, 0.0),
        ("model.safetensors", W2V, 2_320_000_000, 30.0),
        ("semantic_codec/model.safetensors", MASKGCT, 177_000_000, 2.0),
        ("campplus_cn_common.bin", CAMPPLUS, 28_000_000, 0.0),
        ("config.json", BIGVGAN, 1400, 0.0),
        ("bigvgan_generator.pt", BIGVGAN, 450_000_000, 6.0),
    ]
    text = metrics(mon)
    assert value(text, "modelcache_log_download_duration_seconds_sum", source="hf") == 38.0
    assert value(text, "modelcache_log_download_duration_seconds_bucket", source="hf", le="5") == 5


def _replay(tmp_path: Path, name: str, step: float = 1.0) -> tuple[object, object, float]:
    """Write the sample line by line into a new file, one poll per line, `step` seconds apart."""
    log = tmp_path / "webui.log"
    mon, rec = monitor([log])
    t = 1000.0
    mon.poll_once(now=t)
    for line in SAMPLES[name].read_bytes().split(b"\n")[:-1]:  # not splitlines(): it splits on \r too
        with open(log, "ab") as fh:
            fh.write(line + b"\n")
        t += step
        mon.poll_once(now=t)
    return mon, rec, t


def test_live_replay_measures_load_and_stage_durations(tmp_path: Path) -> None:
    mon, rec, _ = _replay(tmp_path, "downloads")
    text = metrics(mon)
    # The file appeared at t=1001 (a candidate start, taken by the first loading line); ready at line 32.
    assert value(text, "modelcache_webui_last_load_duration_seconds") == 31.0
    assert value(text, "modelcache_webui_load_duration_seconds_bucket", le="60") == 1
    assert value(text, "modelcache_webui_load_duration_seconds_bucket", le="30") == 0
    stages = {
        dict(labels)["stage"]: v
        for (sample, labels), v in samples(text).items()
        if sample == "modelcache_webui_stage_duration_seconds"
    }
    assert stages == {
        "gpt": 1.0,
        "semantic_codec": 9.0,
        "s2mel": 4.0,
        "campplus": 2.0,
        "bigvgan": 5.0,
        "text_normalizer": 8.0,
        "bpe": 1.0,
        "launch": 1.0,
    }
    assert value(text, "modelcache_webui_loads_total") == 1
    assert value(text, "modelcache_webui_stdout_buffered") == 0
    assert [e.seconds for e in rec.of("load_finished")] == [31.0]  # type: ignore[attr-defined]


def test_live_replay_of_the_warm_start_counts_the_request(tmp_path: Path) -> None:
    mon, _, _ = _replay(tmp_path, "warm")
    text = metrics(mon)
    assert value(text, "modelcache_webui_last_load_duration_seconds") == 23.0
    assert value(text, "modelcache_webui_requests_total") == 1
    assert value(text, "modelcache_webui_inference_duration_seconds_sum") == 5.86
    assert value(text, "modelcache_webui_rtf") == 0.9142


def test_progress_line_is_seen_while_it_is_still_being_written(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    mon, rec = monitor([log])
    mon.poll_once(now=1.0)
    bar = next(line for line in SAMPLES["downloads"].read_bytes().split(b"\n") if b"2.32G" in line)
    half = bar.index(b"\r", len(bar) // 2)
    log.write_bytes(bar[:half])
    mon.poll_once(now=2.0)
    started = rec.of("download_started")
    assert [(e.file, e.repo) for e in started] == [("model.safetensors", "")]
    assert rec.of("download_progress")[-1].bytes_done > 0  # type: ignore[operator]
    assert value(metrics(mon), "modelcache_log_downloads_in_progress", source="hf") == 1
    with open(log, "ab") as fh:
        fh.write(bar[half:] + b"\n")
    mon.poll_once(now=3.0)
    assert len(rec.of("download_started")) == 1
    assert [e.bytes_total for e in rec.of("download_finished")] == [2_320_000_000]
    assert value(metrics(mon), "modelcache_log_downloads_in_progress", source="hf") == 0


def test_collector_turning_each_tqdm_update_into_a_line(tmp_path: Path) -> None:
    """k8s/Ray-style capture: each `\\r` state on its own line; the final state twice."""
    bar = next(line for line in SAMPLES["downloads"].read_bytes().split(b"\n") if b"177M" in line)
    states = [s for s in bar.split(b"\r") if s]
    log = tmp_path / "webui.log"
    log.write_bytes(b"\n".join([*states, states[-1]]) + b"\n")
    mon, rec = monitor([log])
    mon.poll_once()
    assert len(rec.of("download_started")) == 1
    assert len(rec.of("download_finished")) == 1
