"""Built-in profiles for the web UI side: IndexTTS2 (v1, classic v2.0, HEAD with explicit download
lines, 2.5), Gradio and WeTextProcessing; plus the registry of all built-ins.

Sources: indextts2-output.md §1 (load sequence, per-request lines, version markers) and §7.
"""

from __future__ import annotations

from modelcache_exporter.logs.rules.profiles_hub import HUGGINGFACE_HUB, MODELSCOPE
from modelcache_exporter.logs.rules.rules import Profile, Rule

_TTS = (("source", "indextts"),)
W2V, MASKGCT, CAMPPLUS = "facebook/w2v-bert-2.0", "amphion/MaskGCT", "funasr/campplus"
BIGVGAN = "nvidia/bigvgan_v2_22khz_80band_256x"


def _stage(name: str, prefix: str, stage: str) -> Rule:
    return Rule(name, "stage", "", prefix=prefix, attrs=(("stage", stage),))


def _info(name: str, prefix: str) -> Rule:
    return Rule(name, "info", "", prefix=prefix)


def _error(name: str, prefix: str, kind: str, source: str = "") -> Rule:
    attrs = (("error", kind), ("source", source)) if source else (("error", kind),)
    return Rule(name, "error", "", prefix=prefix, attrs=attrs)


INDEXTTS2 = Profile(
    "indextts2",
    (
        Rule("uv_banner", "loading", "", prefix="warning: The `extra-build-dependencies` option"),
        Rule("cpu_mode", "loading", "", prefix=">> Be patient, it may take a while"),
        Rule(
            "model_download",
            "dl_start",
            r"Model directory (?P<dir>.+?) is incomplete.*?Downloading (?P<label>\S+?)(?: model)?\.\.\. *$",
            prefix="Model directory ",
            attrs=(*_TTS, ("load", "1"), ("sequential", "1")),
        ),
        Rule(
            "model_dir_missing",
            "error",
            r"Model directory .* does not exist",
            prefix="Model directory ",
            attrs=(("error", "missing_model"),),
        ),
        Rule(
            "model_downloaded",
            "dl_settle",
            "",
            prefix="Model downloaded successfully",
            attrs=(*_TTS, ("stage", "model_download")),
        ),
        _error("model_download_failed", "Failed to download ", "download", "indextts"),
        _error("required_file", "Required file ", "missing_model"),
        Rule(
            "config_download",
            "dl_start",
            r">> config\.yaml not found in ",
            prefix=">> config.yaml not found",
            attrs=(*_TTS, ("file", "config.yaml"), ("sequential", "1"), ("load", "1")),
        ),
        Rule(
            "config_downloaded",
            "dl_done",
            "",
            prefix=">> config.yaml downloaded",
            attrs=(*_TTS, ("file", "config.yaml")),
        ),
        Rule(
            "aux_download",
            "dl_start",
            r">> Downloading (?P<label>.+?) to (?P<dest>.+?)\.{3} *$",
            prefix=">> Downloading ",
            attrs=(*_TTS, ("sequential", "1"), ("load", "1")),
        ),
        Rule("aux_migrate", "loading", "", prefix=">> Migrating "),
        Rule(
            "aux_ready",
            "dl_settle",
            "",
            prefix=">> All auxiliary models ready",
            attrs=(*_TTS, ("stage", "auxiliary_models")),
        ),
        _stage("gpt", ">> GPT weights restored from:", "gpt"),
        _info("codec_cost", ">> semantic_codec weights restored cost:"),
        _stage("semantic_codec", ">> semantic_codec weights restored from:", "semantic_codec"),
        _stage("s2mel", ">> s2mel weights restored from:", "s2mel"),
        _stage("campplus", ">> campplus_model weights restored from:", "campplus"),
        _stage("bigvgan", ">> bigvgan weights restored from:", "bigvgan"),
        _stage("text_normalizer", ">> TextNormalizer loaded", "text_normalizer"),
        _stage("bpe", ">> bpe model loaded from:", "bpe"),
        _stage("glossary", ">> Glossary loaded from:", "glossary"),
        _info("cfm", "cfm loaded"),
        _info("length_regulator", "length_regulator loaded"),
        _info("gpt_layer", "gpt_layer loaded"),
        Rule("gpt2_warning", "loading", "", prefix="GPT2InferenceModel has generative capabilities"),
        Rule("gpt2_warning_logged", "loading", r"WARNING:indextts[\w.]*:GPT2InferenceModel", prefix="WARNING:indextts"),
        Rule("vocoder_repo", "repo", r"Loading weights from (?P<repo>[\w.-]+/[\w.-]+) *$", prefix="Loading weights "),
        _info("vocoder_local", "Loading config.json from local directory"),
        _info("vocoder_local_weights", "Loading weights from local directory"),
        _info("weight_norm", "Removing weight norm"),
        _error("cuda_kernel", ">> Failed to load custom CUDA kernel", "accel_fallback"),
        _error("deepspeed", ">> Failed to load DeepSpeed", "accel_fallback"),
        _error("deepspeed_zh", ">> DeepSpeed加载失败", "accel_fallback"),
        _info("request_start", ">> starting inference"),
        Rule(
            "inference_time", "request", r">> Total (?:fast )?inference time: *(?P<seconds>[\d.]+)", prefix=">> Total "
        ),
        Rule("rtf", "rtf", r">> RTF: *(?P<rtf>[\d.]+)", prefix=">> RTF: "),
        Rule("rtf_fast", "rtf", r">> \[fast\] RTF: *(?P<rtf>[\d.]+)", prefix=">> [fast] RTF: "),
        _info("wav_saved", ">> wav file saved to:"),
        _info("emotion", "Emo control mode:"),
        _error("traceback", "Traceback (most recent call last)", "traceback"),
        Rule("oom", "error", r"CUDA out of memory|OutOfMemoryError", contains="rror", attrs=(("error", "oom"),)),
    ),
    stages=(
        "model_download",
        "auxiliary_models",
        "gpt",
        "semantic_codec",
        "s2mel",
        "campplus",
        "bigvgan",
        "text_normalizer",
        "bpe",
        "glossary",
    ),
    repo_hints=(
        ("", "semantic_codec/model.safetensors", MASKGCT),
        ("", "campplus_cn_common.bin", CAMPPLUS),
        ("", "bigvgan_generator.pt", BIGVGAN),
        ("", "preprocessor_config.json", W2V),
        ("", "conformer_shaw.pt", W2V),
        ("gpt", "config.json", W2V),
        ("gpt", "model.safetensors", W2V),
        ("campplus", "config.json", BIGVGAN),
    ),
    aliases=(
        ("w2v-bert-2.0", W2V),
        ("MaskGCT semantic codec", MASKGCT),
        ("CAMPPlus", CAMPPLUS),
        ("BigVGAN", BIGVGAN),
        ("IndexTTS-2", "IndexTeam/IndexTTS-2"),
        ("IndexTTS-2.5", "IndexTeam/IndexTTS-2.5"),
    ),
)

GRADIO = Profile(
    "gradio",
    (
        Rule("local_url", "ready", r"\* Running on local URL: +(?P<url>\S+)", prefix="* Running on local URL:"),
        Rule("local_url_v3", "ready", r"Running on local URL: +(?P<url>\S+)", prefix="Running on local URL:"),
        _info("public_url", "* Running on public URL:"),
        _info("share_hint", "* To create a public link"),
        Rule("interrupted", "stopped", "", prefix="Keyboard interruption in main thread"),
        _error("port_taken", "OSError: Cannot find empty port", "port"),
    ),
)

WETEXT = Profile(
    "wetext",
    (
        Rule(
            "logger",
            "loading",
            r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) WETEXT \w+ ",
            first="0123456789",
        ),
    ),
)

BUILTIN: dict[str, Profile] = {p.name: p for p in (INDEXTTS2, HUGGINGFACE_HUB, MODELSCOPE, GRADIO, WETEXT)}
