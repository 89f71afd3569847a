"""Generate a web UI log from the real line formats of the sample logs, with its ground truth.

Runs: a start (classic first start with seven `\\r`-joined hf_hub_download bars, warm start, HEAD
non-TTY start with explicit download lines; sometimes a ModelScope snapshot download first), then
requests (IndexTTS2's 10 per-request lines) and now and then a connection-error traceback.

    python bench/loggen.py OUT --lines 1000000
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

from tqdm import tqdm

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "logs"
TRUTH_KEYS = ("ready", "stages", "downloads_finished", "requests", "errors", "indextts_downloads")
ERROR = [
    "Traceback (most recent call last):",
    '  File "/srv/index-tts/webui.py", line 41, in <module>',
    '  File "/srv/index-tts/indextts/infer_v2.py", line 118, in __init__',
    '    self.semantic_model = Wav2Vec2BertModel.from_pretrained("facebook/w2v-bert-2.0")',
    "OSError: We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in the "
    "cached files.",
    "Check your internet connection or see how to run the library in offline mode at "
    "'https://huggingface.co/docs/transformers/installation#offline-mode'.",
]


def _sample(name: str) -> list[bytes]:
    return (SAMPLES / name).read_bytes().split(b"\n")[:-1]


def _upto_ready(lines: list[bytes]) -> list[bytes]:
    end = next(i for i, line in enumerate(lines) if line.startswith(b"* Running on local URL"))
    return lines[: end + 2]


def _modelscope_bar(name: str, size: float) -> bytes:
    kw = {"prefix": f"Downloading [{name}]", "unit": "B", "unit_scale": True, "unit_divisor": 1024}
    states = [tqdm.format_meter(size * f, size, 1.0 * f, **kw) for f in (0.0, 0.4, 0.8, 1.0, 1.0)]  # type: ignore[arg-type]
    return "".join("\r" + s for s in states).encode()


MODELSCOPE = [
    b"Downloading Model from https://www.modelscope.cn to directory: "
    b"/root/.cache/modelscope/hub/models/iic/speech_fsmn_vad_zh-cn-16k-common-pytorch",
    b"2025-09-12 13:39:49,270 - modelscope - WARNING - Model revision not specified, use revision: v2.0.4",
    b"2025-09-12 13:39:49,348 - modelscope - INFO - Got 7 files, start to download ...",
    _modelscope_bar("config.yaml", 1219),
    _modelscope_bar("model.pt", 1.64 * 1024 * 1024),
    b"\rProcessing 7 items: 100%|\xe2\x96\x88\xe2\x96\x88| 7.00/7.00 [00:01<00:00, 6.77it/s]",
    b"2025-09-12 13:39:50,383 - modelscope - INFO - Download model 'iic/speech_fsmn_vad_zh-cn-16k-common-pytorch' "
    b"successfully.",
]
STARTS = {
    # name: (lines, stages, hf/modelscope file downloads, explicit indextts downloads)
    "first": (_upto_ready(_sample("indextts2-first-start-with-downloads.log")), 7, 7, 0),
    "warm": (_upto_ready(_sample("indextts2-warm-start.log")), 7, 0, 0),
    "head": (_upto_ready(_sample("indextts2-head-v2-first-start-nontty.log")), 9, 0, 5),
}


def _request(rng: random.Random) -> list[bytes]:
    gpt, s2mel, vocoder = rng.uniform(1, 9), rng.uniform(0.3, 2), rng.uniform(0.05, 0.5)
    total = gpt + s2mel + vocoder + 0.06
    audio = rng.uniform(2, 20)
    return [
        f"Emo control mode:{rng.randrange(4)},weight:0.65,vec:None".encode(),
        b">> starting inference...",
        f">> gpt_gen_time: {gpt:.2f} seconds".encode(),
        b">> gpt_forward_time: 0.06 seconds",
        f">> s2mel_time: {s2mel:.2f} seconds".encode(),
        f">> bigvgan_time: {vocoder:.2f} seconds".encode(),
        f">> Total inference time: {total:.2f} seconds".encode(),
        f">> Generated audio length: {audio:.2f} seconds".encode(),
        f">> RTF: {total / audio:.4f}".encode(),
        f">> wav file saved to: outputs/spk_{1760433689 + rng.randrange(10**6)}.wav".encode(),
    ]


def generate(path: Path, lines: int, seed: int = 1) -> Counter[str]:
    """Write about `lines` lines (whole runs) to `path`; return the ground truth (and `lines`, `bytes`)."""
    rng = random.Random(seed)
    truth: Counter[str] = Counter()
    out: list[bytes] = []
    while truth["lines"] < lines:
        block: list[bytes] = []
        if rng.random() < 0.15:
            block += MODELSCOPE
            truth["downloads_finished"] += 2
        kind = rng.choices(list(STARTS), weights=[3, 6, 2])[0]
        start, stages, files, explicit = STARTS[kind]
        block += start
        truth.update(ready=1, stages=stages, downloads_finished=files, indextts_downloads=explicit)
        for _ in range(rng.randrange(50, 500)):
            if rng.random() < 0.01:
                block += [line.encode() for line in ERROR]
                truth["errors"] += 2
            block += _request(rng)
            truth["requests"] += 1
        out += block
        truth["lines"] += len(block)
    data = b"\n".join(out) + b"\n"
    path.write_bytes(data)
    truth["bytes"] = len(data)
    return truth


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--json", action="store_true", help="print the ground truth as JSON")
    a = p.parse_args()
    truth = generate(a.out, a.lines)
    print(json.dumps(truth) if a.json else dict(truth))


if __name__ == "__main__":
    main()
