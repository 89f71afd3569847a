"""The page matrix: incidents as they happen, the exporter as it runs, the shipped rules as they page.

Each case runs the real exporter (a process, as the README starts it) on a hub cache written by the real
huggingface_hub client from the fake Hub, makes an incident happen the way people make it happen, and
files every scrape in a `pages.Timeline`; `verify()` then replays it through `alerts/modelcache.rules.yml`
with promtool and checks exactly which alerts fire (and that none other does) at each moment.

Matrix: layout configured / detected x root missing / empty / populated at first sight x the cache wiped
by `rm -rf`, by `rm -rf && mkdir`, by a new empty volume (exporter restarted), and re-downloaded while the
exporter was down (ext4 hands the freed inodes to the new files); a recreated pod (a new instance label
on the same state volume); an abandoned partial download of a missing required model; a web UI log
backlog next to a populated cache; a cold start and a new revision, which page nobody.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from e2etools import HELPER_MODELS, MAIN_MODEL, FakeWebUI, Sidecar
from fakehub import FakeHub, run_download
from helpers import REPO_ROOT, free_port, samples, wait_for
from pages import Timeline

REPOS = {
    "org/tts": {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * 50_000},
    "org/vocoder": {"config.json": b'{"v": 2}\n', "generator.pt": b"\x02" * 30_000},
}
FAST = [
    "--collector.cache.scan-workers=0",
    "--collector.cache.poll-interval=1s",
    "--collector.required.interval=1s",
    "--collector.filesystem.interval=1s",
    "--no-collector.probe",
]
WIPES = ("rm-rf", "rm-rf-mkdir", "new-volume-restarted", "while-down")
REDOWNLOAD, WIPED = "ModelCacheUnexpectedRedownload", "ModelCacheWiped"


@dataclass
class Host:
    """One machine: a cache root, a state directory, and the exporter on them (restartable)."""

    tmp: Path
    hub: FakeHub
    layout: str
    extra: list[str] = field(default_factory=list)
    timeline: Timeline = field(default_factory=Timeline)
    exporter: Sidecar | None = None
    port: int = field(default_factory=free_port)  # a restarted exporter is the same Prometheus target

    @property
    def cache(self) -> Path:
        return self.tmp / "hub"

    @property
    def instance(self) -> str:
        assert self.exporter is not None
        return f"127.0.0.1:{self.exporter.port}"

    def config(self) -> Path:
        root: dict[str, str] = {"path": str(self.cache), "name": "hub"}
        if self.layout != "auto":
            root["layout"] = self.layout
        path = self.tmp / "modelcache.yml"
        path.write_text(yaml.safe_dump({"roots": [root], **self.more_config()}))
        return path

    def more_config(self) -> dict[str, object]:
        return {}

    def start(self) -> None:
        args = [f"--config.file={self.config()}", f"--path.state={self.tmp / 'state'}", *FAST, *self.extra]
        self.exporter = Sidecar(args, self.port).__enter__()
        self.wait("modelcache_index_ready", 1.0, root="hub")

    def stop(self) -> None:
        if self.exporter is not None:
            self.exporter.stop()
            self.exporter = None

    def value(self, name: str, **labels: str) -> float:
        assert self.exporter is not None
        return samples(self.exporter.metrics()).get((name, frozenset(labels.items())), 0.0)

    def wait(self, name: str, expected: float, timeout: float = 20.0, **labels: str) -> None:
        wait_for(lambda: self.value(name, **labels) == expected, timeout, 0.1, f"{name}{labels} == {expected}")

    def scrape(self) -> None:
        assert self.exporter is not None
        self.timeline.scrape(self.exporter.metrics(), self.instance, time.time())

    def download(self, *repos: str) -> None:
        for repo in repos or tuple(REPOS):
            run_download(self.hub, repo_id=repo, cache_dir=str(self.cache))


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as h:
        for repo, files in REPOS.items():
            h.add_repo(repo, files)
        yield h


@contextmanager
def host(tmp: Path, hub: FakeHub, layout: str) -> Iterator[Host]:
    h = Host(tmp, hub, layout)
    try:
        yield h
    finally:
        h.stop()


def files(*repos: str) -> int:
    return sum(len(REPOS[r]) for r in repos or REPOS)


def redownloaded(h: Host) -> list[dict[str, str]]:
    return [{"root": "hub", "repo": repo, "instance": h.instance} for repo in REPOS]


def wipe(h: Host, how: str) -> None:
    """The incident: the cache lost, the way `how` loses it, then the web UI's next start fetches it all."""
    if how in ("rm-rf", "rm-rf-mkdir"):
        shutil.rmtree(h.cache)
        if how == "rm-rf-mkdir":
            h.cache.mkdir()
        h.wait("modelcache_cache_wipes_total", 1.0, root="hub")
        h.scrape()
        h.download()
        return
    instance = h.instance
    h.stop()
    h.timeline.down(instance, 30)
    shutil.rmtree(h.cache)
    if how == "new-volume-restarted":
        h.cache.mkdir()  # a fresh empty volume at the same mount point
        h.start()
        h.scrape()
        h.download()
    else:  # while-down: the web UI re-downloaded everything before the exporter came back
        h.download()
        h.start()


@pytest.mark.parametrize("how", WIPES)
@pytest.mark.parametrize("first_sight", ["missing", "empty", "populated"])
@pytest.mark.parametrize("layout", ["hf-hub", "auto"])
def test_a_lost_cache_pages_and_a_cold_start_does_not(
    tmp_path: Path, hub: FakeHub, layout: str, first_sight: str, how: str
) -> None:
    with host(tmp_path, hub, layout) as h:
        if first_sight == "populated":
            h.download()
        elif first_sight == "empty":
            h.cache.mkdir()
        h.start()
        h.scrape()
        if first_sight != "populated":  # the cold start: every file is a first download
            h.timeline.hold(60)
            h.download()
            h.wait("modelcache_downloads_total", float(files()), root="hub", reason="first")
        h.wait("modelcache_ledger_artifacts", float(files()), root="hub")
        h.scrape()
        h.timeline.hold(600)
        h.timeline.expect("cold start or first look at a warm cache: nobody paged")

        wipe(h, how)
        h.wait("modelcache_downloads_total", float(files()), root="hub", reason="redownload")
        assert h.value("modelcache_downloads_total", root="hub", reason="first") == (
            0 if how in ("new-volume-restarted", "while-down") or first_sight == "populated" else files()
        )
        h.scrape()
        wiped = [] if how == "while-down" else [{"root": "hub", "instance": h.instance}]
        firing = {REDOWNLOAD: redownloaded(h), **({WIPED: wiped} if wiped else {})}
        h.timeline.expect(f"{how}: the re-download pages", **firing)
        h.timeline.hold(50 * 60)
        h.timeline.expect(f"{how}: still paging 50 minutes later", **firing)
        h.timeline.hold(15 * 60)
        h.timeline.expect(f"{how}: resolved after the hour")
        h.timeline.verify(tmp_path)


def test_a_recreated_pod_pages_on_its_first_scrape(tmp_path: Path, hub: FakeHub) -> None:
    """The pod is deleted; its replacement (a new instance label) keeps the state volume but gets a fresh cache
    volume, and its web UI has re-downloaded everything by the time Prometheus first scrapes it."""
    with host(tmp_path, hub, "auto") as h:
        h.download()
        h.start()
        h.scrape()
        h.timeline.hold(300)
        old = h.instance
        h.stop()
        h.timeline.gone(old)
        shutil.rmtree(h.cache)
        h.cache.mkdir()
        h.port = free_port()
        h.start()  # a new address: a new instance label, the same state directory
        h.download()
        h.wait("modelcache_downloads_total", float(files()), root="hub", reason="redownload")
        h.scrape()  # the new instance's first scrape already holds every re-download
        h.timeline.expect("the recreated pod", **{REDOWNLOAD: redownloaded(h), WIPED: [{"root": "hub"}]})
        h.timeline.hold(600)
        h.timeline.expect("ten minutes on", **{REDOWNLOAD: redownloaded(h), WIPED: [{"root": "hub"}]})
        h.timeline.verify(tmp_path)


def test_a_new_revision_pages_nobody(tmp_path: Path, hub: FakeHub) -> None:
    with host(tmp_path, hub, "auto") as h:
        h.download()
        h.start()
        h.scrape()
        hub.publish("org/tts", {"model.safetensors": b"\x03" * 50_000})
        h.download("org/tts")
        h.wait("modelcache_downloads_total", 1.0, root="hub", reason="new_revision")
        h.scrape()
        h.timeline.hold(900)
        h.timeline.expect("an update of a model")
        assert h.value("modelcache_downloads_total", root="hub", reason="redownload") == 0
        h.timeline.verify(tmp_path)


class RequiredHost(Host):
    def more_config(self) -> dict[str, object]:
        return {"required": [{"hub": "org/tts"}]}


def test_an_abandoned_partial_download_does_not_silence_a_missing_required_model(
    tmp_path: Path, hub: FakeHub
) -> None:
    """The first start was cut half-way through the required model's weights: its `.incomplete` file stays."""
    h = RequiredHost(tmp_path, hub, "auto", extra=["--collector.ledger.stall-after=2s"])
    try:
        hub.throttle_bytes_per_second = 20_000  # 2.5 s for the weights: the client is killed after 1 s
        with pytest.raises(subprocess.TimeoutExpired):
            run_download(hub, repo_id="org/tts", filename="model.safetensors", cache_dir=str(h.cache), timeout=1.0)
        hub.throttle_bytes_per_second = 0
        assert list(h.cache.glob("models--org--tts/blobs/*.incomplete"))
        h.start()
        h.wait("modelcache_downloads_stalled", 1.0, root="hub")
        assert h.value("modelcache_downloads_in_progress", root="hub") == 1
        h.wait("modelcache_required_model_present", 0.0, root="", model="org/tts")
        h.scrape()
        h.timeline.hold(5 * 60)
        h.timeline.expect("five minutes: the required model's alert waits for its for:")
        h.timeline.hold(6 * 60)
        h.timeline.expect(
            "eleven minutes: missing, and nothing really downloading",
            ModelCacheRequiredModelMissing=[{"model": "org/tts", "severity": "critical"}],
            ModelCacheDownloadStalled=[{"root": "hub"}],
        )
        h.timeline.verify(tmp_path)
    finally:
        h.stop()


class LogHost(Host):
    def more_config(self) -> dict[str, object]:
        return {"logs": [{"name": "webui", "path": str(self.tmp / "webui.log")}]}


def test_a_log_backlog_next_to_a_populated_cache_pages_nobody(tmp_path: Path, hub: FakeHub) -> None:
    """A fresh state directory, a warm cache, and a web UI log holding the same downloads twice (two earlier
    first starts): nothing is counted from the log, nothing pages."""
    fixture = REPO_ROOT / "tests" / "fixtures" / "logs" / "indextts2-first-start-with-downloads.log"
    (tmp_path / "webui.log").write_bytes(fixture.read_bytes() * 2)
    h = LogHost(tmp_path, hub, "auto")
    try:
        h.download()
        h.start()
        h.wait("modelcache_log_lines_total", float(fixture.read_bytes().count(b"\n") * 2), log="webui")
        h.scrape()
        h.timeline.hold(900)
        h.timeline.expect("the backlog was read")
        text = h.exporter.metrics() if h.exporter else ""
        assert 'root="log:' not in text
        for reason in ("first", "new_revision", "redownload"):
            assert h.value("modelcache_downloads_total", root="hub", reason=reason) == 0
        h.timeline.verify(tmp_path)
    finally:
        h.stop()


SLOW_LOAD = 67.0  # seconds: past the shipped 60 s
STILL_RUNNING, LOAD_SLOW = "ModelCacheModelLoadStillRunning", "ModelCacheModelLoadSlow"


@dataclass
class WebuiHost:
    """A host running the fake IndexTTS2 web UI next to the exporter, as one of two ways people run it."""

    tmp: Path
    hub: FakeHub
    buffered: bool  # `python webui.py > webui.log 2>&1` (block-buffered, truncated) and the log alone ...
    timeline: Timeline = field(default_factory=Timeline)  # ... or `python -u ... | tee -a` + watcher + probe
    webui: FakeWebUI | None = None
    exporter: Sidecar | None = None

    def start(self) -> None:
        home = self.tmp / "index-tts"
        home.mkdir()
        run_download(self.hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(home / "checkpoints"))
        log = self.tmp / "webui.log"
        log.touch()
        self.webui = FakeWebUI(home, self.hub, self.tmp / "hub", log)
        args = [f"--path.cache={self.tmp / 'hub'}", f"--path.state={self.tmp / 'state'}", *FAST]
        args += [f"--path.webui-log={log}", "--collector.webui.interval=500ms"]
        if not self.buffered:
            args += [
                f"--collector.webui.process-pattern={self.webui.pattern}",
                f"--collector.webui.ready-url={self.webui.url}",
            ]
        self.exporter = Sidecar(args, free_port()).__enter__()
        self.webui.start(buffered=self.buffered, truncate=self.buffered)  # the cold start: downloads, fast
        wait_for(self.webui.ready, 30, 0.1, "the cold start")
        wait_for(lambda: self.value("modelcache_webui_loads_total") == 1, 20, 0.1, "the cold start's load")

    def value(self, name: str, **labels: str) -> float:
        assert self.exporter is not None
        return samples(self.exporter.metrics()).get((name, frozenset(labels.items())), 0.0)

    def scrape(self) -> None:
        assert self.exporter is not None
        self.timeline.scrape(self.exporter.metrics(), f"127.0.0.1:{self.exporter.port}", time.time())

    def stop(self) -> None:
        if self.webui is not None:
            self.webui.stop()
        if self.exporter is not None:
            self.exporter.stop()


def test_slow_and_hung_starts_page_after_60s_buffered_or_not(tmp_path: Path, hub: FakeHub) -> None:
    """Four hosts at once (one real minute shared): a slow start and a start that never ends, each with stdout
    block-buffered into a truncated log read alone, and unbuffered into an appended log with the process
    watcher and the readiness probe. Each pages ModelLoadStillRunning after 60 s while it runs, though no line
    arrives; the slow one then pages ModelLoadSlow; a hung web UI stopped on purpose stops paging."""
    for repo, repo_files in HELPER_MODELS.items():
        hub.add_repo(repo, repo_files)
    hub.add_repo("IndexTeam/IndexTTS-2", MAIN_MODEL)
    hosts = {
        (kind, buffered): WebuiHost(tmp_path / f"{kind}-{'buffered' if buffered else 'unbuffered'}", hub, buffered)
        for kind in ("slow", "hung")
        for buffered in (True, False)
    }
    try:
        for h in hosts.values():
            h.tmp.mkdir()
            h.start()
            h.scrape()
            h.timeline.hold(300)
            h.timeline.expect("a cold start of a few seconds pages nobody")
            assert h.webui is not None
            h.webui.stop()
        for (kind, _buffered), h in hosts.items():  # the four restarts within a moment of each other
            assert h.webui is not None
            slow = kind == "slow"
            h.webui.start(slow=SLOW_LOAD if slow else 0.0, hang=not slow, buffered=h.buffered, truncate=h.buffered)
        started = time.monotonic()
        while time.monotonic() - started < 40:
            for h in hosts.values():
                h.scrape()
            time.sleep(5)
        for h in hosts.values():
            assert h.value("modelcache_webui_loading") == 1 and h.value("modelcache_webui_ready") == 0
            h.timeline.expect("40 s into the load: not yet")
        while time.monotonic() - started < 61.5:
            time.sleep(0.2)
        for h in hosts.values():
            h.scrape()
            assert h.value("modelcache_webui_load_in_progress_seconds") > 60
            h.timeline.expect("past 60 s: paged while it runs", **{STILL_RUNNING: [{"severity": "warning"}]})
        for (kind, _buffered), h in hosts.items():
            if kind == "slow":
                assert h.webui is not None
                wait_for(h.webui.ready, 30, 0.2, "the slow start to end")
                wait_for(lambda h=h: h.value("modelcache_webui_loads_total") == 2, 20, 0.2, "the slow load ended")
                assert h.value("modelcache_webui_last_load_duration_seconds") > SLOW_LOAD
                h.scrape()
                h.timeline.expect("the slow start ended: it was slow", **{LOAD_SLOW: [{"severity": "warning"}]})
        h = hosts[("hung", False)]
        assert h.webui is not None
        h.webui.stop()  # stopped on purpose: the watcher sees no process, nothing restarts
        wait_for(lambda: h.value("modelcache_webui_loading") == 0, 10, 0.2, "the stopped web UI not loading")
        h.scrape()
        h.timeline.hold(120)
        h.timeline.expect("a web UI stopped on purpose is no hung load")
        for h in hosts.values():
            h.timeline.verify(h.tmp)
    finally:
        for h in hosts.values():
            h.stop()
