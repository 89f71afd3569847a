"""The exporter's log lines on its stderr (a real process, logfmt): start-up says where the state directory, the
ledger and every root are; what pages (a re-download, a model removed, a wipe, a root disappearing) is a warning,
one line per repo, never one per file; a wipe of many models logs a bounded number of lines."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from fakehub import FakeHub, run_download
from helpers import Process, value, wait_for

BIG = {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * 60_000}
SMALL = {"config.json": b"{}\n", "vocab.txt": b"a\nb\n"}
QUIET = ["--collector.cache.scan-workers=0", "--no-collector.diskstats", "--no-collector.probe"]


def logfmt(line: str) -> dict[str, str]:
    """One logfmt line as {key: value}."""
    return dict(tok.split("=", 1) for tok in shlex.split(line))


def lines(stderr: str, msg: str) -> list[dict[str, str]]:
    """The lines with this message, in order."""
    return [d for d in map(logfmt, stderr.splitlines()) if d.get("msg") == msg]


def one(stderr: str, msg: str, **want: str) -> dict[str, str]:
    """The single line with this message and these fields."""
    found = [d for d in lines(stderr, msg) if all(d.get(k) == v for k, v in want.items())]
    assert len(found) == 1, (msg, want, found, stderr)
    return found[0]


def _config(tmp_path: Path, roots: str) -> list[str]:
    conf = tmp_path / "c.yml"
    conf.write_text(f"roots: [{roots}]\n")
    return ["--config.file", str(conf), "--path.state", str(tmp_path / "state"), *QUIET]


def _wait(ex: Process, name: str, want: float, **labels: str) -> None:
    wait_for(lambda: value(ex.metrics(), name, **labels) == want, 15, 0.1, f"{name}{labels} == {want}")


def test_start_up_names_the_state_directory_the_ledger_and_every_root(tmp_path: Path) -> None:
    (tmp_path / "hub").mkdir()
    (tmp_path / "ckpt").mkdir()
    roots = f"{{path: {tmp_path / 'hub'}, name: hub, layout: hf-hub}}, {{path: {tmp_path / 'ckpt'}, name: ckpt}}"
    with Process(_config(tmp_path, roots)) as ex:
        pass
    state = str(tmp_path / "state")
    assert one(ex.stderr, "state directory")["level"] == "info" and one(ex.stderr, "state directory")["path"] == state
    ledger = one(ex.stderr, "download ledger", path=f"{state}/ledger.sqlite", persistent="True")
    assert ledger["level"] == "info"
    hub = one(ex.stderr, "watching cache root", root="hub", path=str(tmp_path / "hub"), layout="hf-hub")
    assert hub["layout_source"] == "configured" and hub["level"] == "info"
    ckpt = one(ex.stderr, "watching cache root", root="ckpt", path=str(tmp_path / "ckpt"), layout="unknown")
    assert ckpt["layout_source"] == "unknown"  # auto: detected once something decisive is in it
    assert len(lines(ex.stderr, "watching cache root")) == 2


def test_a_removal_a_redownload_and_a_wipe_are_warnings_one_line_per_repo(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    with FakeHub() as hub:
        hub.add_repo("org/big", BIG)
        hub.add_repo("org/small", SMALL)
        for repo in ("org/big", "org/small"):
            run_download(hub, repo_id=repo, cache_dir=str(cache))
        with Process(_config(tmp_path, f"{{path: {cache}, name: hub, layout: hf-hub}}")) as ex:
            _wait(ex, "modelcache_index_ready", 1.0, root="hub")
            shutil.rmtree(cache / "models--org--small")  # someone deletes one model
            _wait(ex, "modelcache_artifact_removals_total", 2.0, root="hub")
            run_download(hub, repo_id="org/small", cache_dir=str(cache))  # and the web UI fetches it again
            _wait(ex, "modelcache_downloads_total", 2.0, root="hub", reason="redownload")
            shutil.rmtree(cache)  # the volume is gone
            _wait(ex, "modelcache_cache_wipes_total", 1.0, root="hub")
    err = ex.stderr
    small = sum(len(v) for v in SMALL.values())
    removed = lines(err, "model removed from the cache")
    assert [(d["level"], d["repo"], d["files"], d["bytes"]) for d in removed] == [
        ("warn", "org/small", "2", str(small)),  # the deletion: one line for its two files
        ("warn", "org/big", "2", str(sum(len(v) for v in BIG.values()))),  # the wipe: each model once
        ("warn", "org/small", "2", str(small)),
    ]
    again = one(err, "model downloaded again although the cache had it", root="hub", repo="org/small")
    assert (again["level"], again["files"], again["bytes"]) == ("warn", "2", str(small))
    assert not lines(err, "downloads finished")  # nothing arrived for the first time
    assert one(err, "cache root disappeared", root="hub", path=str(cache))["level"] == "warn"
    assert one(err, "cache root wiped: it lost most of its bytes at once", root="hub")["level"] == "warn"
    assert not lines(err, "more models removed from the cache")


def test_a_wipe_of_many_models_names_ten_and_sums_the_rest(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    with FakeHub() as hub:
        hub.add_repo("org/m00", SMALL)
        run_download(hub, repo_id="org/m00", cache_dir=str(cache))
    for i in range(1, 15):  # 15 models in the real layout (copies of a real download, links kept)
        shutil.copytree(cache / "models--org--m00", cache / f"models--org--m{i:02d}", symlinks=True)
    with Process(_config(tmp_path, f"{{path: {cache}, name: hub, layout: hf-hub}}")) as ex:
        _wait(ex, "modelcache_root_models", 15.0, root="hub")
        _wait(ex, "modelcache_ledger_artifacts", 30.0, root="hub")
        shutil.rmtree(cache)
        _wait(ex, "modelcache_artifact_removals_total", 30.0, root="hub")
    named = lines(ex.stderr, "model removed from the cache")
    summed = lines(ex.stderr, "more models removed from the cache")
    assert len(named) == 10 and len({d["repo"] for d in named}) == 10
    assert summed and all(d["level"] == "warn" and d["root"] == "hub" for d in summed)
    assert sum(int(d["models"]) for d in summed) == 5 and sum(int(d["files"]) for d in summed) == 10
    assert one(ex.stderr, "cache root wiped: it lost most of its bytes at once", root="hub")
