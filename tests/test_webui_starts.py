"""Issue 11 with real processes: the fake IndexTTS2 web UI (tests/e2etools.FakeWebUI), a real log file
and the exporter as real processes watching it three ways at once:

* `log`: the log alone (`--path.webui-log`),
* `probe`: the log and `--collector.webui.ready-url`,
* `watch`: the log, `--collector.webui.process-pattern` and the ready URL.

Each test runs for both ways of starting the web UI: `python webui.py > webui.log 2>&1` (stdout
block-buffered, the log truncated in place) and `python -u webui.py 2>&1 | tee -a webui.log` (unbuffered,
appended). The log holds a previous run's output first, so `ready` is 1 from the previous start, as in
the issue. No test waits for the 60 s threshold (the rules are tested in test_alerts/test_e2e).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2etools import HELPER_MODELS, MAIN_MODEL, FakeWebUI
from fakehub import FakeHub, run_download
from helpers import Process, samples, wait_for
from logtools import SAMPLES

MODES = {"buffered-truncate": {"buffered": True, "truncate": True}, "unbuffered-append": {}}
LOADING, READY, RESTARTS = "modelcache_webui_loading", "modelcache_webui_ready", "modelcache_webui_restarts_total"
RUNNING = "modelcache_webui_load_in_progress_seconds"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeHub, Path, Path]]:
    """The fake Hub with the helper models, the main model in `checkpoints/`, a helper-model cache."""
    top = tmp_path_factory.mktemp("hub")
    with FakeHub() as fake:
        for repo, files in HELPER_MODELS.items():
            fake.add_repo(repo, files)
        fake.add_repo("IndexTeam/IndexTTS-2", MAIN_MODEL)
        run_download(fake, repo_id="IndexTeam/IndexTTS-2", local_dir=str(top / "checkpoints"))
        yield fake, top / "checkpoints", top / "cache"


@pytest.fixture
def webui(tmp_path: Path, hub: tuple[FakeHub, Path, Path]) -> Iterator[FakeWebUI]:
    """A fake web UI in its own folder; its log holds a previous run's output."""
    fake, checkpoints, cache = hub
    home = tmp_path / "index-tts"
    home.mkdir()
    (home / "checkpoints").symlink_to(checkpoints)
    log = tmp_path / "webui.log"
    log.write_bytes(SAMPLES["warm"].read_bytes())
    web = FakeWebUI(home, fake, cache, log)
    yield web
    web.stop()


@contextlib.contextmanager
def exporters(tmp_path: Path, web: FakeWebUI) -> Iterator[dict[str, Process]]:
    """The three exporters (started together), by name."""
    base = ["--path.webui-log", str(web.log_path), "--collector.logs.poll-interval", "0.05s"]
    base += ["--collector.webui.interval", "0.1s", "--path.cache", str(tmp_path / "nocache")]
    base += ["--no-collector.cache", "--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
    probe = ["--collector.webui.ready-url", web.url]
    extra = {"log": [], "probe": probe, "watch": [*probe, "--collector.webui.process-pattern", web.pattern]}
    with contextlib.ExitStack() as stack:
        procs = {name: Process([*base, "--path.state", str(tmp_path / name), *args]) for name, args in extra.items()}
        for proc in procs.values():
            stack.callback(proc.stop)
        up = {name: proc.__enter__() for name, proc in procs.items()}
        for name, ex in up.items():  # the previous run's log read: later resets are seen as such
            wait_for(lambda ex=ex: scrape(ex).get("modelcache_log_lines_total"), 10, 0.05, f"{name}: backlog")
        yield up


def scrape(ex: Process) -> dict[str, float]:
    """The web UI samples of one scrape, by name."""
    return {name: v for (name, labels), v in samples(ex.metrics()).items() if name.startswith("modelcache_")}


def serve(web: FakeWebUI, procs: dict[str, Process], **mode: bool) -> None:
    """Start the web UI and wait until it serves and every exporter says ready."""
    web.start(**mode)
    wait_for(web.ready, 30, 0.05, "the fake web UI to serve")
    for name, ex in procs.items():
        wait_for(lambda ex=ex: scrape(ex).get(READY) == 1, 10, 0.05, f"{name}: ready")
    time.sleep(0.3)  # serving for a few probe rounds: the probes saw it up


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_a_hung_start_shows_at_once_and_a_stopped_webui_is_no_hung_load(
    tmp_path: Path, webui: FakeWebUI, mode: dict[str, bool]
) -> None:
    with exporters(tmp_path, webui) as procs:
        serve(webui, procs, **mode)
        webui.stop()
        webui.start(hang=True, **mode)
        seeing = ["probe", "watch", *(["log"] if mode.get("truncate") else [])]
        for name in seeing:
            wait_for(lambda name=name: scrape(procs[name]).get(LOADING) == 1, 10, 0.05, f"{name}: loading")
        size = webui.log_path.stat().st_size
        rounds = []
        for i in range(3):
            time.sleep(1.0 if i else 0.0)
            rounds.append({name: scrape(procs[name]) for name in procs})
        assert webui.log_path.stat().st_size == size  # nothing written meanwhile
        for name in seeing:
            seen = [(r[name][LOADING], r[name][READY]) for r in rounds]
            running = [r[name][RUNNING] for r in rounds]
            assert seen == [(1, 0)] * 3 and running[0] < running[1] < running[2], (name, seen, running)
        if not mode.get("truncate"):  # appended, and the hung start prints nothing: the log alone cannot tell
            assert [(r["log"][LOADING], r["log"][READY]) for r in rounds] == [(0, 1)] * 3
        webui.stop()  # stopped on purpose
        watch = procs["watch"]
        wait_for(lambda: scrape(watch).get(LOADING) == 0, 10, 0.05, "watch: loading 0 once the process is gone")
        after = scrape(watch)
        probed = scrape(procs["probe"])
    assert (after[LOADING], after[RUNNING], after[READY]) == (0, 0, 0)
    assert probed[LOADING] == 1  # without a process watcher, a closed port looks like a loading web UI


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_a_slow_start_records_its_real_duration(tmp_path: Path, webui: FakeWebUI, mode: dict[str, bool]) -> None:
    with exporters(tmp_path, webui) as procs:
        began = time.time()
        webui.start(slow=2.0, **mode)
        wait_for(webui.ready, 30, 0.02, "the fake web UI to serve")
        truth = time.time() - began
        for name, ex in procs.items():
            wait_for(lambda ex=ex: scrape(ex).get(READY) == 1, 10, 0.05, f"{name}: ready")
        last = {name: scrape(ex)["modelcache_webui_last_load_duration_seconds"] for name, ex in procs.items()}
    assert truth > 2.0
    assert abs(last["watch"] - truth) < 0.4, (last, truth)  # from the process's start time
    if mode.get("truncate"):
        assert abs(last["log"] - truth) < 0.4, (last, truth)  # from the truncation by `>`
    else:  # from the first line, printed after Python and huggingface_hub were imported
        assert truth - 3.0 < last["log"] <= truth + 0.2, (last, truth)


def copytruncate(log: Path, copy: Path) -> None:
    """What logrotate's copytruncate does: copy the log, then truncate it in place."""
    shutil.copyfile(log, copy)
    os.truncate(log, 0)


def truncations(ex: Process) -> float:
    """Truncations of the log the exporter noticed."""
    return scrape(ex).get("modelcache_log_truncations_total", 0.0)


def steady(procs: dict[str, Process], names: list[str], counted: dict[str, float]) -> list[dict[str, float]]:
    """Once each exporter counted one more truncation than `counted`, ten scrapes over a second."""
    for name in names:
        wait_for(
            lambda name=name: truncations(procs[name]) == counted[name] + 1,
            10, 0.05, f"{name}: truncation {truncations} seen",
        )  # fmt: skip
    out = []
    for _ in range(10):
        out += [scrape(procs[name]) for name in names]
        time.sleep(0.1)
    return out


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_copytruncate_of_an_idle_serving_webui_is_no_load(
    tmp_path: Path, webui: FakeWebUI, mode: dict[str, bool]
) -> None:
    with exporters(tmp_path, webui) as procs:
        serve(webui, procs, **mode)
        restarts = {name: scrape(ex)[RESTARTS] for name, ex in procs.items()}
        counted = {name: truncations(ex) for name, ex in procs.items()}
        (tmp_path / "old").mkdir()
        copytruncate(webui.log_path, tmp_path / "old" / "webui.log.1")  # logrotate's olddir: no copy nearby
        for s in steady(procs, ["probe", "watch"], counted):
            assert (s[LOADING], s[RUNNING], s[READY]) == (0, 0, 1), s  # the probe served throughout
        lone = procs["log"]
        assert scrape(lone)[LOADING] == 1  # the log alone cannot tell this from `python webui.py > log`
        with webui.log_path.open("a") as fh:
            fh.write(">> Total inference time: 2.50 seconds\n")  # a request: the app was serving
        wait_for(lambda: scrape(lone).get(LOADING) == 0, 10, 0.05, "log: the request line cancels the load")
        counted = {name: truncations(ex) for name, ex in procs.items()}
        copytruncate(webui.log_path, webui.log_path.with_name("webui.log.1"))  # logrotate's default: copy nearby
        for s in steady(procs, list(procs), counted):
            assert (s[LOADING], s[RUNNING], s[READY]) == (0, 0, 1), s
        final = {name: scrape(ex) for name, ex in procs.items()}
    for name, s in final.items():
        assert (s[LOADING], s[RUNNING], s[READY], s[RESTARTS]) == (0, 0, 1, restarts[name]), (name, s)
