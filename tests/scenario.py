"""A day in the life of a model cache, compressed into seconds, for the tests that need every metric family
to carry samples (tests/test_prometheus.py, tests/test_metric_names.py).

The exporter runs as a real process on a hub cache filled by the real `huggingface_hub` client from the fake
Hub, next to a root that does not exist, with two required models (one there, one not) and a web UI log.
`play()` then makes things happen while it watches: the web UI loads (log lines with a ready line a second
later), a new model is downloaded, the cache is wiped and downloaded again (a re-download), and then damaged
(a dangling ref and a partial download that stopped growing an hour ago).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from fakehub import FakeHub, run_download
from helpers import Process, samples, wait_for

FILES = {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * 60_000, "tok/vocab.txt": b"a\nb\n"}
LOAD_LINES = [
    ">> GPT weights restored from: ./checkpoints/gpt.pth",
    ">> semantic_codec weights restored from: ./checkpoints/hf_cache/semantic_codec/model.safetensors",
    ">> s2mel weights restored from: ./checkpoints/s2mel.pth",
    ">> bpe model loaded from: ./checkpoints/bpe.model",
]
READY_LINE = "* Running on local URL:  http://0.0.0.0:7860"
FAST = [
    "--collector.filesystem.interval=1s",
    "--collector.diskstats.interval=1s",
    "--collector.probe.interval=1s",
    "--collector.required.interval=1s",
    "--collector.cache.scan-workers=0",
]


@dataclass
class Scenario:
    """What a test gets: the running exporter and the places it watches."""

    exporter: Process
    hub: FakeHub
    cache: Path
    log: Path


def _config(tmp: Path, cache: Path, log: Path) -> Path:
    path = tmp / "modelcache.yaml"
    doc = {
        "roots": [
            {"path": str(cache), "name": "hub", "layout": "hf-hub"},
            {"path": str(tmp / "checkpoints"), "name": "checkpoints", "layout": "plain"},
        ],
        "required": [{"hub": "org/tts", "root": "hub"}, {"hub": "org/absent"}],  # found nowhere: root=""
        "logs": [{"name": "webui", "path": str(log)}],
        # the web UI as another user: the cache written by this test's user (umask 022) is readable by it
        "collector": {"required": {"readable-by": {"enabled": "65534:65534", "interval": "1s"}}},
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@contextmanager
def running(tmp: Path) -> Iterator[Scenario]:
    """The exporter on a warm cache, its index ready; stopped on exit."""
    with FakeHub() as hub:
        hub.add_repo("org/tts", FILES)
        hub.add_repo("org/new", {"config.json": b"{}\n", "weights.bin": b"\x02" * 30_000})
        cache, log = tmp / "hub", tmp / "webui.log"
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        log.write_text("")
        args = ["--config.file", str(_config(tmp, cache, log)), "--path.state", str(tmp / "state"), *FAST]
        with Process(args) as exporter:
            s = Scenario(exporter, hub, cache, log)
            has(s, "modelcache_index_verified", root="hub")
            yield s


def has(s: Scenario, name: str, check: object = None, timeout: float = 15.0, **labels: str) -> float:
    """Wait until a sample exists (and equals `check`, when given); return its value."""
    key = (name, frozenset(labels.items()))

    def seen() -> bool:
        value = samples(s.exporter.metrics()).get(key)
        return value is not None and (check is None or value == check)

    wait_for(seen, timeout, interval=0.1, what=f"{name}{labels} == {check}")
    return float(samples(s.exporter.metrics())[key])


def _append(log: Path, lines: list[str]) -> None:
    with log.open("a") as fh:
        fh.write("".join(line + "\n" for line in lines))


def play(s: Scenario) -> None:
    """A web UI load, a first download, a wipe and the re-download that follows, each seen by the exporter."""
    _append(s.log, LOAD_LINES)
    time.sleep(1.2)
    _append(s.log, [READY_LINE])
    has(s, "modelcache_webui_ready", 1.0)
    has(s, "modelcache_webui_last_load_duration_seconds")
    run_download(s.hub, repo_id="org/new", cache_dir=str(s.cache))
    has(s, "modelcache_model_files", 2.0, root="hub", repo="org/new", repo_type="model")
    shutil.rmtree(s.cache)  # the container restarted without its volume
    has(s, "modelcache_cache_wipes_total", 1.0, root="hub")
    run_download(s.hub, repo_id="org/tts", cache_dir=str(s.cache))  # the 30-minute first start again
    has(s, "modelcache_unexpected_redownloads_total", 3.0, root="hub", repo="org/tts")
    has(s, "modelcache_required_model_complete", 1.0, root="hub", model="org/tts")
    has(s, "modelcache_required_model_unreadable_files", 0.0, root="hub", model="org/tts")
    damage(s)


def damage(s: Scenario) -> None:
    """A ref naming a commit the cache lacks (dangling_ref) and a partial download untouched for an hour (stalled)."""
    repo = s.cache / "models--org--tts"
    (repo / "refs" / "stale").write_text("0" * 40)
    partial = repo / "blobs" / ("f" * 64 + ".incomplete")
    partial.write_bytes(b"\0" * 1000)
    an_hour_ago = time.time() - 3600
    os.utime(partial, (an_hour_ago, an_hour_ago))
    has(s, "modelcache_root_corruptions", 1.0, root="hub", kind="dangling_ref")
    has(s, "modelcache_downloads_stalled", 1.0, root="hub")
