"""Pure parsing: the `\\r` rule, sizes and clocks, timestamps, container formats, line assembly, and
which rule of which built-in profile matches each documented line (indextts2-output.md)."""

from __future__ import annotations

import calendar

import pytest
from tqdm import tqdm

from modelcache_exporter.logs.rules.parse import (
    current_state,
    detect_format,
    parse_clock,
    parse_rfc3339,
    parse_size,
    repo_from_path,
    strip_ansi,
)
from modelcache_exporter.logs.rules.profiles import BUILTIN
from modelcache_exporter.logs.rules.rules import Table
from modelcache_exporter.logs.rules.sources import PatternConfig, custom_rule, literal_prefix
from modelcache_exporter.logs.tail.assemble import LineAssembler, clip
from modelcache_exporter.logs.tail.decode import Decoder

TABLE = Table(list(BUILTIN.values()))


def test_the_last_carriage_return_segment_is_the_current_state() -> None:
    assert current_state(b"\ra:   0%|  | 0/9 [x]\ra: 100%|##| 9/9 [y]   \r   ") == b"a: 100%|##| 9/9 [y]"
    assert current_state(b"plain line\r") == b"plain line"
    assert current_state(b"\r \r") == b""
    assert current_state(b"no cr") == b"no cr"


def test_sizes_clocks_and_times() -> None:
    assert parse_size(b"275") == 275
    assert parse_size(b"1.36k") == 1360
    assert parse_size(b"2.32G") == 2_320_000_000
    assert parse_size(b"1.19k", 1024) == 1219
    assert parse_size(b"5.43kB") == 5430
    assert parse_size(b"?") is None
    assert parse_clock(b"00:30") == 30.0
    assert parse_clock(b"1:02:03") == 3723.0
    assert parse_clock(b"?") is None
    stamp = calendar.timegm((2025, 10, 14, 9, 12, 27, 0, 0, 0))
    assert parse_rfc3339("2025-10-14T09:12:27.401234567Z") == pytest.approx(stamp + 0.401234567)
    assert parse_rfc3339("2025-10-14T11:12:27+02:00") == stamp
    cached = "/root/.cache/huggingface/hub/models--funasr--campplus/snapshots/x/a.bin"
    assert repo_from_path(cached) == "funasr/campplus"
    assert strip_ansi(b"\x1b[32m* Running\x1b[0m\x1b[A") == b"* Running"


@pytest.mark.parametrize("ncols", [None, 0, 80])
@pytest.mark.parametrize(
    ("n", "total", "base"), [(0, 177e6, 1000), (6.37e6, 177e6, 1000), (2.32e9, 2.32e9, 1000), (1219, 1219, 1024)]
)
def test_real_tqdm_bars_parse(ncols: int | None, n: float, total: float, base: int) -> None:
    line = tqdm.format_meter(n, total, 3.0, ncols=ncols, prefix="model.safetensors", unit="B", unit_scale=True)
    if base == 1024:
        line = tqdm.format_meter(
            n, total, 3.0, ncols=ncols, prefix="Downloading [model.pt]", unit="B", unit_scale=True, unit_divisor=1024
        )
    hit = TABLE.parse(line.encode())
    assert hit is not None and hit[0].action == "progress", line
    m = hit[1]
    assert parse_size(m.group("n"), base) == pytest.approx(n, rel=0.01, abs=1)
    assert parse_size(m.group("total"), base) == pytest.approx(total, rel=0.01)
    assert parse_clock(m.group("el")) == 3.0


LINES = [
    ("warning: The `extra-build-dependencies` option is experimental and may change", "indextts2", "uv_banner"),
    (">> GPT weights restored from: ./checkpoints\\gpt.pth", "indextts2", "gpt"),
    (">> semantic_codec weights restored cost:  1.234", "indextts2", "codec_cost"),
    (">> bigvgan weights restored from: nvidia/bigvgan_v2_22khz_80band_256x", "indextts2", "bigvgan"),
    (">> Glossary loaded from: ./checkpoints/glossary.yaml", "indextts2", "glossary"),
    ("WARNING:indextts.gpt.transformers_modeling_utils:GPT2InferenceModel has", "indextts2", "gpt2_warning_logged"),
    (
        "Model directory ./ck is incomplete for v2 (missing: gpt.pth). Downloading IndexTeam/IndexTTS-2...",
        "indextts2",
        "model_download",
    ),
    (
        "Model directory ./ck is incomplete (missing: gpt.pth). Downloading IndexTTS-2 model...",
        "indextts2",
        "model_download",
    ),
    (
        "Model directory ./checkpoints does not exist. Please download the model first.",
        "indextts2",
        "model_dir_missing",
    ),
    ("Required file ./checkpoints/gpt.pth does not exist. Please download it.", "indextts2", "required_file"),
    (">> DeepSpeed加载失败，回退到标准推理: No module named 'deepspeed'", "indextts2", "deepspeed_zh"),  # noqa: RUF001
    (">> Total fast inference time: 3.21 seconds", "indextts2", "inference_time"),
    (">> [fast] RTF: 0.5000", "indextts2", "rtf_fast"),
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB", "indextts2", "oom"),
    ("Traceback (most recent call last):", "indextts2", "traceback"),
    ("Fetching 30 files: 100%|██████████| 30/30 [00:00<00:00, 302473.85it/s]", "huggingface_hub", "snapshot_bar"),
    (
        "Downloading (incomplete total...):   1%|▏   | 83.9M/16.2G [00:02<06:16, 42.7MB/s]",
        "huggingface_hub",
        "aggregate_bar",
    ),
    ("tokenizer_config.json: 5.43kB [00:00, ?B/s]", "huggingface_hub", "bar_no_total"),
    (
        "Downloading 'wav2vec2bert_stats.pt' to 'checkpoints\\.cache\\huggingface\\download\\Wr9=.c9c1.incomplete'",
        "huggingface_hub",
        "verbose_start",
    ),
    (
        "Download complete. Moving file to checkpoints\\qwen0.6bemo4-merge\\tokenizer_config.json",
        "huggingface_hub",
        "verbose_done",
    ),
    (
        "huggingface_hub.errors.OfflineModeIsEnabled: Cannot reach https://hf.co/x: offline mode is enabled.",
        "huggingface_hub",
        "offline",
    ),
    (
        "huggingface_hub.errors.LocalEntryNotFoundError: Cannot find the requested files in the disk cache and "
        "outgoing traffic has been disabled.",
        "huggingface_hub",
        "offline",
    ),
    ("OSError: We couldn't connect to 'https://huggingface.co' to load the files", "huggingface_hub", "connection"),
    (
        "OSError: Consistency check failed: file should be of size 10 but has size 5 (config.json).",
        "huggingface_hub",
        "consistency",
    ),
    (
        "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://huggingface.co/x",
        "huggingface_hub",
        "auth",
    ),
    (
        "Downloading Model from https://www.modelscope.cn to directory: /root/.cache/modelscope/hub/models/iic/vad",
        "modelscope",
        "model_dir",
    ),
    ("Downloading [config.yaml]: 100%|██████████| 1.19k/1.19k [00:00<00:00, 2.64kB/s]", "modelscope", "file_bar"),
    ("Processing 7 items: 100%|██████████| 7.00/7.00 [00:01<00:00, 6.77it/s]", "modelscope", "items_bar"),
    ("2025-09-12 13:39:50,383 - modelscope - INFO - Download model 'iic/vad' successfully.", "modelscope", "repo_done"),
    (
        "2025-09-12 13:39:49,270 - modelscope - WARNING - Model revision not specified, use revision: v2.0.4",
        "modelscope",
        "logger",
    ),
    (
        "ModelScope download failed for iic/x/campplus_cn_common.bin: timeout. Falling back to hf-mirror.",
        "modelscope",
        "fallback",
    ),
    (
        "ValueError: Cannot find the requested files in the cached path and outgoing traffic has been disabled.",
        "modelscope",
        "offline",
    ),
    ("* Running on local URL:  http://0.0.0.0:7860", "gradio", "local_url"),
    ("OSError: Cannot find empty port in range: 7860-7860. You can specify a different port", "gradio", "port_taken"),
    ("Keyboard interruption in main thread... closing server.", "gradio", "interrupted"),
    ("2025-05-22 10:49:38,546 WETEXT INFO found existing fst: /x/zh_tn_tagger.fst", "wetext", "logger"),
]


@pytest.mark.parametrize(("line", "profile", "rule"), LINES)
def test_documented_lines_match_their_rule(line: str, profile: str, rule: str) -> None:
    hit = TABLE.parse(line.encode())
    assert hit is not None, line
    assert (TABLE.profiles[hit[0].profile], hit[0].name) == (profile, rule)


@pytest.mark.parametrize(
    "line",
    [
        ">> gpt_gen_time: 4.12 seconds",
        "Some unrelated line with an error word: rror but nothing known",
        "[2025-09-09 19:33:59,644] [INFO] [real_accelerator.py:254:get_accelerator] Setting ds_accelerator",
        "a line that ends with a bracket [but is no bar]",
        "\x00\xff\xfe binary",
    ],
)
def test_other_lines_do_not_match(line: str) -> None:
    assert TABLE.parse(line.encode("utf-8", "surrogateescape")) is None


def test_assembler_holds_partial_lines_and_bounds_them() -> None:
    asm = LineAssembler(16)
    assert asm.feed(b"abc\nde") == [b"abc"]
    assert asm.feed(b"f\n") == [b"def"]
    assert asm.feed(b"x" * 40) == []
    assert len(asm.pending) <= 16
    assert asm.feed(b"yy\nok\n") == [b"x" * 16, b"ok"]
    assert asm.truncated == 1
    asm.feed(b"\rstate 1 .......\rstate 2 .......\rstate 3")  # progress: the latest state is kept
    assert asm.feed(b"\n") == [b"\rstate 3"]
    assert asm.truncated == 1
    assert clip(b"head" * 10 + b"\rfinal", 16) == (b"\rfinal", False)


def test_docker_and_cri_decoding_join_partial_lines() -> None:
    cri = Decoder("cri", 1024)
    lines, times = cri.decode(
        [
            b"2025-10-14T09:12:27.5Z stdout P * Running on ",
            b"2025-10-14T09:12:27.6Z stderr F cfm loaded",
            b"2025-10-14T09:12:28Z stdout F local URL:  http://0.0.0.0:7860",
            b"not a cri line",
        ],
        fallback=1.0,
    )
    assert lines == [b"cfm loaded", b"* Running on local URL:  http://0.0.0.0:7860", b"not a cri line"]
    assert times[1] == calendar.timegm((2025, 10, 14, 9, 12, 28, 0, 0, 0))
    assert times[2] == 1.0 and cri.malformed == 1
    docker = Decoder("docker", 1024)
    first = b'{"log":"a\\rb","stream":"stderr","time":"2025-10-14T09:12:27Z"}'
    lines, _ = docker.decode([first, b'{"log":"c\\n","stream":"stderr"}'], 0)
    assert lines == [b"a\rbc"]
    assert detect_format(b'{"log":"x\\n","stream":"stdout","time":"2025-10-14T09:12:27Z"}') == "docker"
    assert detect_format(b"2025-10-14T09:12:27.401234567Z stdout F x") == "cri"
    assert detect_format(b">> GPT weights restored from: x") == "plain"


def test_custom_patterns_become_anchored_rules_when_they_can() -> None:
    assert literal_prefix(r"^INFO: +Application startup") == "INFO:"
    assert literal_prefix(r"^Loading model \S+") == "Loading model "
    assert literal_prefix(r"Loading") == ""
    rule = custom_rule(PatternConfig("up", r"^INFO: +Application startup complete", "ready", profile="vllm"))
    assert (rule.prefix, rule.action) == ("INFO:", "ready")
    from modelcache_exporter.logs.rules.rules import Profile

    table = Table([BUILTIN["gradio"], Profile("vllm", (rule,))])
    hit = table.parse(b"INFO:     Application startup complete.")
    assert hit is not None and (table.profiles[hit[0].profile], hit[0].action) == ("vllm", "ready")
