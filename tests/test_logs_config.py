"""Log sources and patterns in the configuration; container log formats, standard input and the
listener hook, end to end through the monitor."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from helpers import InProcess, value
from logtools import SAMPLES, metrics, monitor

from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.config.parser import parse
from modelcache_exporter.logs.events import LogEvent
from modelcache_exporter.logs.rules.sources import LogSourceConfig, PatternConfig

BASE = ["--no-collector.cache", "--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]


def _config(tmp_path: Path, text: str, *args: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return parse(["--config.file", str(path), "--path.cache", str(tmp_path), *args], environ={})


def test_logs_and_patterns_from_the_file(tmp_path: Path) -> None:
    cfg = _config(
        tmp_path,
        """
logs:
  - {name: webui, path: /var/log/webui.log}
  - {name: pod, path: "/var/log/pods/*/webui/*.log", format: cri, profiles: [indextts2, gradio]}
  - {name: piped, stdin: true, start_marker: '^=== start'}
patterns:
  - {name: vllm_ready, regex: '^INFO: +Application startup complete', event: ready, profile: vllm}
collector:
  webui: {process-pattern: 'webui\\.py', ready-url: 'http://127.0.0.1:7860/'}
""",
    )
    assert [s.name for s in cfg.log_sources] == ["webui", "pod", "piped"]  # type: ignore[attr-defined]
    assert cfg.log_sources[1].format == "cri" and cfg.log_sources[2].stdin  # type: ignore[attr-defined]
    assert cfg.log_patterns[0].profile == "vllm"  # type: ignore[attr-defined]
    assert cfg.webui_process_pattern == r"webui\.py"  # type: ignore[attr-defined]


def test_flag_paths_are_named_from_the_file_or_webui(tmp_path: Path) -> None:
    text = "logs:\n  - {name: main, path: /a.log, format: docker}\n"
    cfg = _config(tmp_path, text, "--path.webui-log", "/a.log", "--path.webui-log", "/b.log")
    assert [(s.name, s.path, s.format) for s in cfg.log_sources] == [  # type: ignore[attr-defined]
        ("main", "/a.log", "docker"),
        ("webui", "/b.log", "auto"),
    ]
    env = parse(["--path.cache", str(tmp_path)], environ={"MODELCACHE_PATH_WEBUI_LOG": "/x.log:/y.log"})
    assert [s.name for s in env.log_sources] == ["webui", "webui-2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("logs:\n  - {name: a}\n", "either 'path'"),
        ("logs:\n  - {name: a, path: /x, stdin: true}\n", "either 'path'"),
        ("logs:\n  - {name: a, path: /x, format: syslog}\n", "format 'syslog'"),
        ("logs:\n  - {name: a, path: /x, profiles: [vllm]}\n", "unknown profile 'vllm'"),
        ("logs:\n  - {name: 'a b', path: /x}\n", "becomes a label"),
        ("logs:\n  - {name: a, path: /x, colour: red}\n", "unknown key 'colour'"),
        ("logs: {name: a}\n", "must be a list"),
        ("patterns:\n  - {regex: '(', event: ready}\n", "invalid regex"),
        ("patterns:\n  - {regex: 'x', event: explode}\n", "event 'explode'"),
        ("patterns:\n  - {regex: 'x', event: stage}\n", "needs 'stage"),
        ("patterns:\n  - {regex: 'x', profile: gradio}\n", "is a built-in"),
    ],
)
def test_configuration_errors_name_the_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, text)


def test_custom_patterns_for_another_model_server(tmp_path: Path) -> None:
    log = tmp_path / "vllm.log"
    log.write_text(
        "INFO 08-20 10:00:00 Loading model weights took 12.5 GB\n"
        "Downloading shard model-00001.safetensors\n"
        "INFO:     Application startup complete.\n"
        "TOKENS 512\n"
    )
    patterns = [
        PatternConfig("load", r"^INFO \S+ \S+ Loading model weights", "stage", profile="vllm", stage="weights"),
        PatternConfig("dl", r"^Downloading shard (?P<file>\S+)", "download_started", profile="vllm", source="vllm"),
        PatternConfig("up", r"^INFO: +Application startup complete", "ready", profile="vllm"),
        PatternConfig("tokens", r"TOKENS (?P<value>\d+)", "custom", profile="vllm", prefilter="TOKENS"),
    ]
    sources = [LogSourceConfig("vllm", str(log), profiles=("vllm",))]
    mon, rec = monitor(patterns=patterns, sources=sources)
    mon.poll_once()
    assert [(e.kind, e.stage or e.file or e.value) for e in rec.events] == [
        ("stage", "weights"),
        ("download_started", "model-00001.safetensors"),
        ("load_finished", None),  # backlog: the load's duration is unknown
        ("ready", None),
        ("custom", 512.0),
    ]
    text = metrics(mon)
    assert value(text, "modelcache_log_pattern_matches_total", log="vllm", pattern="tokens") == 1
    assert value(text, "modelcache_log_downloads_in_progress", source="vllm") == 1
    assert value(text, "modelcache_log_lines_matched_total", log="vllm", profile="vllm") == 4


def _cri(lines: list[bytes], start: float, step: float) -> bytes:
    out = []
    for i, line in enumerate(lines):
        stamp = start + i * step
        secs, frac = divmod(stamp, 1)
        clock = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
        prefix = f"{clock}.{int(frac * 1e9):09d}Z stdout ".encode()
        if len(line) > 40:  # long lines in two parts, as containerd writes them
            out += [prefix + b"P " + line[:40], prefix + b"F " + line[40:]]
        else:
            out.append(prefix + b"F " + line)
    return b"\n".join(out) + b"\n"


def test_cri_backlog_keeps_its_own_timestamps(tmp_path: Path) -> None:
    """A pod log read at first sight: the CRI timestamps still give the load time."""
    lines = SAMPLES["warm"].read_bytes().split(b"\n")[:-1]
    log = tmp_path / "0.log"
    log.write_bytes(_cri(lines, 1_760_000_000.0, 2.0))
    mon, rec = monitor([log])
    mon.poll_once()
    ready = next(i for i, line in enumerate(lines) if line.startswith(b"* Running"))
    assert [e.seconds for e in rec.of("load_finished")] == [2.0 * ready]
    text = metrics(mon)
    assert value(text, "modelcache_log_lines_total", log="webui") == len(lines)
    assert value(text, "modelcache_webui_stage_duration_seconds", stage="gpt") == 2.0
    assert value(text, "modelcache_log_last_line_timestamp_seconds", log="webui") == 1_760_000_000.0 + 2.0 * (
        len(lines) - 1
    )


def test_docker_json_file_with_progress_updates(tmp_path: Path) -> None:
    bar = next(line for line in SAMPLES["downloads"].read_bytes().split(b"\n") if b"28.0M" in line)
    entries = [
        {"log": ">> s2mel weights restored from: ./checkpoints/s2mel.pth\n", "stream": "stdout"},
        {"log": bar.decode() + "\n", "stream": "stderr"},
        {"log": "* Running on local URL:  http://0.0.0.0:7860\n", "stream": "stdout"},
    ]
    log = tmp_path / "c-json.log"
    log.write_text(
        "".join(json.dumps({**e, "time": f"2025-10-14T09:12:2{i}.5Z"}) + "\n" for i, e in enumerate(entries))
    )
    mon, rec = monitor([log])
    mon.poll_once()
    assert [(e.file, e.repo) for e in rec.of("download_finished")] == [("campplus_cn_common.bin", "funasr/campplus")]
    assert len(rec.of("ready")) == 1


def test_standard_input(tmp_path: Path) -> None:
    read, write = os.pipe()
    mon, rec = monitor(sources=[LogSourceConfig("stdin", stdin=True)], stdin_fd=read)
    os.write(write, b">> GPT weights restored from: ./checkpoints/gpt.pth\n* Running on local URL:  http")
    mon.poll_once()
    assert [e.kind for e in rec.events] == ["stage"]
    os.write(write, b"://0.0.0.0:7860")
    os.close(write)
    mon.poll_once()  # end of input: the last line counts without its newline
    assert [e.kind for e in rec.events] == ["stage", "load_finished", "ready"]
    assert rec.of("load_finished")[0].seconds is not None  # standard input is live: the load is timed
    os.close(read)


def test_listeners_choose_kinds_and_a_failing_listener_is_contained(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    log.write_bytes(SAMPLES["downloads"].read_bytes())
    mon, _ = monitor([log])
    downloads: list[LogEvent] = []

    def broken(event: LogEvent) -> None:
        raise RuntimeError("listener bug")

    mon.add_listener(broken, kinds=["ready"])
    mon.add_listener(downloads.append, kinds=["download_started", "download_finished"])
    with pytest.raises(ValueError, match="unknown event kinds"):
        mon.add_listener(downloads.append, kinds=["downloads"])
    mon.poll_once()
    assert {e.kind for e in downloads} == {"download_started", "download_finished"}
    assert len(downloads) == 14


def test_exporter_serves_log_metrics_from_the_flags(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    log.write_bytes(SAMPLES["head"].read_bytes())
    args = ["--path.webui-log", str(log), "--path.state", str(tmp_path / "s"), "--path.cache", str(tmp_path), *BASE]
    with InProcess([*args, "--collector.logs.poll-interval", "0.05s"]) as ex:
        ex.wait("modelcache_log_lines_total", lambda v: v == 35, log="webui")
        text = ex.text()
    assert value(text, "modelcache_log_downloads_finished_total", source="indextts", repo="amphion/MaskGCT") == 1
    assert value(text, "modelcache_scrape_collector_success", collector="webui") == 1
    assert (tmp_path / "s" / "logs" / "positions.json").exists()
