"""Helpers of the end-to-end test (tests/test_e2e.py): a fake IndexTTS2 web UI that downloads through the real
`huggingface_hub` client, Debian's Prometheus and Alertmanager on 127.0.0.1, a webhook receiver standing in
for on-call, the sidecar on a fixed port, and alert rules generated with test thresholds.

Everything listens on 127.0.0.1 only; every process started here is stopped by its `stop()`.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import pytest
import requests
import yaml
from fakehub import FakeHub, hf_env
from helpers import Process, free_port, wait_for

from mixin import alerts
from mixin.config import THRESHOLDS

# The helper models the classic IndexTTS2 web UI fetches with hf_hub_download while it loads
# (indextts2-output.md §1.3), small: a throttled fake Hub makes their download take a few seconds.
HELPER_MODELS: dict[str, dict[str, bytes]] = {
    "facebook/w2v-bert-2.0": {
        "preprocessor_config.json": b'{"feature_size": 80, "sampling_rate": 16000}\n',
        "config.json": b'{"model_type": "wav2vec2-bert"}\n',
        "model.safetensors": b"\x01" * 120_000,
    },
    "amphion/MaskGCT": {"semantic_codec/model.safetensors": b"\x02" * 80_000},
    "funasr/campplus": {"campplus_cn_common.bin": b"\x03" * 40_000},
    "nvidia/bigvgan_v2_22khz_80band_256x": {
        "config.json": b'{"num_mels": 80, "sampling_rate": 22050}\n',
        "bigvgan_generator.pt": b"\x04" * 100_000,
    },
}
# The main model, fetched before the first start as IndexTTS2's README says
# (`hf download IndexTeam/IndexTTS-2 --local-dir=checkpoints`): the classic web UI exits without it.
MAIN_MODEL: dict[str, bytes] = {
    "bpe.model": b"\x05" * 2_000,
    "gpt.pth": b"\x06" * 30_000,
    "config.yaml": b"vocoder:\n  name: nvidia/bigvgan_v2_22khz_80band_256x\n",
    "s2mel.pth": b"\x07" * 20_000,
    "wav2vec2bert_stats.pt": b"\x08" * 3_000,
}

# A stand-in for IndexTTS2's classic `webui.py`: the lines it prints, in its order, to the same streams
# (`>>` lines on stdout, library warnings and WETEXT on stderr), the helper models fetched with the real
# `hf_hub_download` between them, then the Gradio ready line once the port serves. `--slow N` is the
# text normaliser building its FST on a fresh clone (about 2 minutes for real): a load with no download.
# `--hang` is a start that never finishes and prints nothing meanwhile (its first step, QwenEmotion,
# prints nothing; a download that never ends with the bars hidden): it sleeps until it is killed.
# stdout is flushed right after the ready line, as a real block-buffered run did.
WEBUI_SCRIPT = '''\
import argparse, datetime, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=7860)
p.add_argument("--model_dir", default="./checkpoints")
p.add_argument("--slow", type=float, default=0.0)
p.add_argument("--hang", action="store_true")
args = p.parse_args()
for name in ("bpe.model", "gpt.pth", "config.yaml", "s2mel.pth", "wav2vec2bert_stats.pt"):
    path = os.path.join(args.model_dir, name)
    if not os.path.exists(path):
        print(f"Required file {path} does not exist. Please download it.")
        sys.exit(1)

from huggingface_hub import hf_hub_download  # gradio imports it before anything is printed

while args.hang:
    time.sleep(3600)

VOCODER = "nvidia/bigvgan_v2_22khz_80band_256x"


def err(line):
    sys.stderr.write(line + "\\n")


def wetext(message):
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    err(f"{stamp} WETEXT INFO {message}")


print(f">> GPT weights restored from: {args.model_dir}/gpt.pth")
err("GPT2InferenceModel has generative capabilities, as `prepare_inputs_for_generation` is explicitly "
    "overwritten. However, it doesn't directly inherit from `GenerationMixin`. From \\U0001f449v4.50\\U0001f448 "
    "onwards, `PreTrainedModel` will NOT inherit from `GenerationMixin`, and this model will lose the ability "
    "to call `generate` and other related functions.")
for name in ("preprocessor_config.json", "config.json", "model.safetensors"):
    hf_hub_download("facebook/w2v-bert-2.0", name)
codec = hf_hub_download("amphion/MaskGCT", "semantic_codec/model.safetensors")
print(f">> semantic_codec weights restored from: {codec}")
for key in ("cfm", "length_regulator", "gpt_layer"):
    print(f"{key} loaded")
print(f">> s2mel weights restored from: {args.model_dir}/s2mel.pth")
campplus = hf_hub_download("funasr/campplus", "campplus_cn_common.bin")
print(f">> campplus_model weights restored from: {campplus}")
hf_hub_download(VOCODER, "config.json")
print(f"Loading weights from {VOCODER}")
hf_hub_download(VOCODER, "bigvgan_generator.pt")
print("Removing weight norm...")
print(f">> bigvgan weights restored from: {VOCODER}")
fst = os.path.join(os.getcwd(), "indextts", "utils", "tagger_cache")
if args.slow:
    wetext("building fst for zh_normalizer ...")
    time.sleep(args.slow)
    wetext("done")
    wetext(f"fst path: {fst}/zh_tn_tagger.fst")
else:
    wetext(f"found existing fst: {fst}/zh_tn_tagger.fst")
    wetext("skip building fst for zh_normalizer ...")
print(">> TextNormalizer loaded")
print(f">> bpe model loaded from: {args.model_dir}/bpe.model")


class Page(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>IndexTTS Demo</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer((args.host, args.port), Page)
print(f"* Running on local URL:  http://{args.host}:{args.port}")
print("* To create a public link, set `share=True` in `launch()`.")
sys.stdout.flush()
server.serve_forever()
'''


class FakeWebUI:
    """The fake web UI as a real process in its own folder (with `checkpoints/`), its output appended to a
    log the sidecar follows (`python -u webui.py 2>&1 | tee -a webui.log`), its helper models in `cache`.
    `start()` options: `buffered` (no PYTHONUNBUFFERED: stdout block-buffered into the file), `truncate`
    (`python webui.py > webui.log 2>&1`: the log truncated in place, same inode), `hang` (never ready)."""

    def __init__(self, home: Path, hub: FakeHub, cache: Path, log: Path) -> None:
        self.home, self.hub, self.cache, self.log_path = home, hub, cache, log
        self.script = home / "webui.py"
        self.script.write_text(WEBUI_SCRIPT)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None

    @property
    def pattern(self) -> str:
        """A `--collector.webui.process-pattern` matching this web UI's command line only."""
        return re.escape(str(self.script))

    def start(self, slow: float = 0.0, buffered: bool = False, truncate: bool = False, hang: bool = False) -> None:
        """Launch it (returns at once; the load runs on)."""
        assert self.proc is None, "already running"
        env = hf_env(self.hub, HF_HUB_CACHE=str(self.cache), PYTHONUNBUFFERED="1", HF_HUB_VERBOSITY="debug")
        if buffered:
            del env["PYTHONUNBUFFERED"]
        self._log = self.log_path.open("w" if truncate else "a")
        cmd = [sys.executable, str(self.script), "--port", str(self.port)]
        if slow:
            cmd += ["--slow", str(slow)]
        if hang:
            cmd.append("--hang")
        self.proc = subprocess.Popen(cmd, cwd=self.home, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def ready(self) -> bool:
        """True once it serves (fails the test if it died)."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"the fake web UI exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(self.url, timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        """SIGTERM (what `docker stop` sends) and wait."""
        if self.proc is not None:
            _terminate(self.proc)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


def _terminate(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Sidecar(Process):
    """The exporter as a real process on a FIXED port, so a restarted sidecar is the same Prometheus target.
    (The later `--web.listen-address` wins over the one `Process` puts first.)"""

    def __init__(self, args: Sequence[str], port: int) -> None:
        super().__init__([*args, f"--web.listen-address=127.0.0.1:{port}"])
        self.port, self.url = port, f"http://127.0.0.1:{port}"


class Daemon:
    """A server binary (Prometheus, Alertmanager) on 127.0.0.1, its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], url: str, log: Path) -> None:
        self.name, self.url, self.log_path = name, url, log
        self._log = log.open("w")
        self.proc = subprocess.Popen(list(argv), stdout=self._log, stderr=subprocess.STDOUT)

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(self.url + "/-/ready", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_for(self.ready, timeout, interval=0.1, what=f"{self.name} /-/ready")

    def stop(self) -> None:
        _terminate(self.proc)
        self._log.close()


def start_alertmanager(binary: str, tmp: Path, config: Mapping[str, Any]) -> Daemon:
    """Alertmanager alone (no cluster) with `config`."""
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(dict(config), sort_keys=False))
    address = f"127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={tmp / 'alertmanager.yml'}",
        f"--storage.path={tmp / 'am-data'}",
        f"--web.listen-address={address}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return Daemon("alertmanager", argv, f"http://{address}", tmp / "alertmanager.log")


def start_prometheus(binary: str, tmp: Path, config: Mapping[str, Any]) -> Prometheus:
    """Prometheus with `config` (scrape, rules, alerting)."""
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(dict(config), sort_keys=False))
    address = f"127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'prom-data'}",
        f"--web.listen-address={address}",
        "--log.level=warn",
    ]
    return Prometheus("prometheus", argv, f"http://{address}", tmp / "prometheus.log")


class Prometheus(Daemon):
    """Prometheus with a query helper."""

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (fails the test on an error)."""
        r = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
        return list(body["data"]["result"])


def e2e_rules(path: Path, thresholds: Mapping[str, Any]) -> Path:
    """The shipped rules, generated by the mixin (mixin.alerts) with some thresholds replaced (in a copy of
    mixin.config.THRESHOLDS: the committed rules and the shipped thresholds stay as they are)."""
    unknown = sorted(set(thresholds) - set(THRESHOLDS))
    assert not unknown, f"not thresholds of mixin/config.py: {unknown}"
    path.write_text(alerts.dump({"groups": alerts.groups(thresholds={**THRESHOLDS, **thresholds})}))
    return path


@dataclass(frozen=True)
class Notified:
    """One alert as the webhook received it."""

    at: float  # time.monotonic() at receipt
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")


class WebhookReceiver:
    """On-call: an HTTP server in a thread that keeps every Alertmanager webhook post."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.received: list[Notified] = []
        self.lock = threading.Lock()
        receiver = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._keep(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True)
        self.thread.start()

    def _keep(self, payload: dict[str, Any]) -> None:
        now = time.monotonic()
        with self.lock:
            self.posts.append(payload)
            self.received += [
                Notified(now, a["status"], dict(a["labels"]), dict(a.get("annotations") or {}))
                for a in payload.get("alerts", [])
            ]

    def alerts(self, name: str = "", status: str = "", since: float = 0.0) -> list[Notified]:
        """Alerts received (optionally of one alertname and status, at or after `since`)."""
        with self.lock:
            return [
                a
                for a in self.received
                if (not name or a.name == name) and (not status or a.status == status) and a.at >= since
            ]

    def wait(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until `check()`; the failure message lists what arrived."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}; received: {self.summary()}")
            time.sleep(0.1)

    def latest(self) -> dict[tuple[tuple[str, str], ...], str]:
        """The last status received of each alert (by its labels): Alertmanager repeats a group's alerts."""
        with self.lock:
            return {tuple(sorted(a.labels.items())): a.status for a in self.received}

    def summary(self) -> list[tuple[str, str, dict[str, str]]]:
        with self.lock:
            return [(a.status, a.name, {k: v for k, v in a.labels.items() if k != "alertname"}) for a in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
