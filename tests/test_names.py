"""Names that are not text (a folder named with bytes that are not UTF-8, as `os.mkdir(b"...")` makes): every
scrape is served, the name shows in a valid label (its bytes as `\\xNN`), every other series stays, and the
ledger keeps counting."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
import requests
from fakehub import FakeHub, run_download
from helpers import Process, samples, value, wait_for
from prometheus_client.core import Metric

from modelcache_exporter.base.names import from_db, label_text, to_db
from modelcache_exporter.collectors.base import ScrapeCollector, ScrapeTimer
from modelcache_exporter.collectors.families import gauge
from modelcache_exporter.ledger.store import Store

BAD = b"a\xff\xfeb"
SHOWN = "a\\xff\\xfeb"  # how the label shows it
QUIET = ["--no-collector.diskstats", "--no-collector.probe", "--no-collector.filesystem"]
FAST = ["--collector.cache.poll-interval", "200ms", "--collector.cache.scan-workers", "0"]
FILES = {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * 6000}


def _bad_repo(cache: Path) -> None:
    os.mkdir(os.fsencode(cache) + b"/models--org--" + BAD)


def _bad_revision(cache: Path) -> None:
    os.mkdir(os.fsencode(cache / "models--org--good" / "snapshots") + b"/" + BAD)


def _bad_ref(cache: Path) -> None:
    head = (cache / "models--org--good" / "refs" / "main").read_text()
    with open(os.fsencode(cache / "models--org--good" / "refs") + b"/" + BAD, "w") as fh:
        fh.write(head)


def _scrape(proc: Process) -> str:
    r = requests.get(proc.url + "/metrics", timeout=5)
    assert r.status_code == 200, r.text
    return r.text


def _shown(text: str) -> bool:
    """Whether a label value holds the bad name as shown (the exposition escapes its backslashes)."""
    return any(SHOWN in v for _name, labels in samples(text) for _k, v in labels)


def _promtool(text: str) -> None:
    out = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert "error" not in (out.stdout + out.stderr).lower(), out.stdout + out.stderr


@pytest.mark.parametrize(
    ("make", "series", "label"),
    [
        (_bad_repo, "modelcache_model_size_bytes", "repo"),
        (_bad_revision, "modelcache_model_revision_info", "revision"),
        (_bad_ref, "modelcache_model_revision_info", "refs"),
    ],
)
def test_a_name_that_is_not_utf8_is_shown_escaped(hub: FakeHub, tmp_path: Path, make, series, label) -> None:  # type: ignore[no-untyped-def]
    hub.add_repo("org/good", FILES)
    hub.add_repo("org/later", FILES)
    cache, state = tmp_path / "hub", tmp_path / "state"
    run_download(hub, repo_id="org/good", cache_dir=str(cache))
    if make is _bad_ref:  # the index does not watch refs/ alone: the ref is there at start
        make(cache)
    args = ["--path.cache", str(cache), "--path.state", str(state), *QUIET, *FAST]
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hub") == 1, 10)
        if make is not _bad_ref:
            make(cache)
        wait_for(lambda: _shown(_scrape(proc)), 10, what="the bad name in a label")  # every scrape 200
        text = _scrape(proc)
        assert value(text, "modelcache_scrape_collector_success", collector="cache") == 1
        assert value(text, "modelcache_model_size_bytes", root="hub", repo="org/good", repo_type="model") == 6009
        assert value(text, "modelcache_root_models", root="hub") is not None
        if series == "modelcache_model_size_bytes":
            assert value(text, series, root="hub", repo=f"org/{SHOWN}", repo_type="model") is not None
        else:
            assert any(n == series and SHOWN in dict(ls).get(label, "") for n, ls in samples(text)), text
        _promtool(text)
        assert requests.get(proc.url + "/", timeout=5).status_code == 200
        run_download(hub, repo_id="org/later", cache_dir=str(cache))  # the ledger still counts
        wait_for(
            lambda: value(_scrape(proc), "modelcache_downloads_total", root="hub", reason="first") == 2,
            10,
            what="org/later counted",
        )
        _promtool(_scrape(proc))
        proc.stop()
    assert "ledger step failed" not in proc.stderr, proc.stderr


def test_a_repo_under_a_name_that_is_not_utf8_survives_a_restart_uncounted(hub: FakeHub, tmp_path: Path) -> None:
    """The ledger stores the name's own bytes: after a restart it finds the same folder (no wipe, no re-download)."""
    hub.add_repo("org/good", FILES)
    cache, state = tmp_path / "hub", tmp_path / "state"
    args = ["--path.cache", str(cache), "--path.state", str(state), *QUIET, *FAST]
    cache.mkdir()
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hub") == 1, 10)
        run_download(hub, repo_id="org/good", cache_dir=str(cache))
        os.rename(cache / "models--org--good", os.fsencode(cache) + b"/models--org--" + BAD)  # moved: returned
        wait_for(lambda: proc.value("modelcache_ledger_artifacts", root="hub") == 2, 10, what="2 artifacts")
        first = proc.value("modelcache_downloads_total", root="hub", reason="first")
    with Process(args) as proc:
        wait_for(lambda: proc.value("modelcache_index_ready", root="hub") == 1, 10)
        wait_for(lambda: proc.value("modelcache_ledger_artifacts", root="hub") == 2, 10, what="2 artifacts")
        text = _scrape(proc)
        for reason in ("first", "redownload"):
            assert value(text, "modelcache_downloads_total", root="hub", reason=reason) == 0
        assert value(text, "modelcache_cache_wipes_total", root="hub") == 0
        proc.stop()
    assert first == 2 and "ledger step failed" not in proc.stderr, proc.stderr


def test_label_text_and_the_ledger_codec() -> None:
    name = os.fsdecode(b"org/" + BAD)
    assert label_text(name) == f"org/{SHOWN}" and label_text(name).encode("utf-8")
    assert label_text("org/\u00e9t\u00e9") == "org/\u00e9t\u00e9" and label_text("\ud800x") == "\\ud800x"
    assert to_db(name) == b"org/" + BAD and from_db(to_db(name)) == name
    assert to_db("org/m") == "org/m" and to_db(3) == 3 and from_db("org/m") == "org/m"


class _Flaky:
    """A source with a constant cache key whose first collection fails (`mode` "raise") or cannot be encoded."""

    name = "flaky"

    def __init__(self, mode: str) -> None:
        self.mode, self.calls = mode, 0

    def cache_key(self) -> object:
        return 1

    def collect(self) -> Iterable[Metric]:
        self.calls += 1
        family = gauge("flaky_value", "A value.", ["key"])
        family.add_metric(["x"], 1.0)
        if self.calls == 1 and self.mode == "raise":
            raise RuntimeError("a source that fails once")
        if self.calls == 1:
            family.samples[0] = family.samples[0]._replace(value="not a number")
        return [family]


@pytest.mark.parametrize("mode", ["raise", "unencodable"])
def test_a_failed_collection_says_success_0_and_is_retried_next_scrape(mode: str) -> None:
    for om in (False, True):
        scrape = ScrapeCollector([_Flaky(mode), _Other()], ScrapeTimer())
        text = scrape.render(om=om).decode()
        assert value(text, "modelcache_scrape_collector_success", collector="flaky") == 0
        assert value(text, "modelcache_other", key=SHOWN) == 1  # every other series stays, its label escaped
        assert "modelcache_flaky_value" not in text
        text = scrape.render(om=om).decode()  # same cache key: the failure was not kept
        assert value(text, "modelcache_scrape_collector_success", collector="flaky") == 1
        assert value(text, "modelcache_flaky_value", key="x") == 1


class _Other:
    name = "other"

    def collect(self) -> Iterable[Metric]:
        family = gauge("other", "Another value.", ["key"])
        family.add_metric([os.fsdecode(BAD)], 1.0)
        return [family]


def test_a_write_with_a_name_that_is_not_text_stores_its_bytes_once(tmp_path: Path) -> None:
    """Rows are bound as they are; one holding a name sqlite cannot bind has the whole statement redone through
    the codec, the rows before it not written twice."""
    store = Store(str(tmp_path / "ledger.sqlite"))
    bad = os.fsdecode(b"org/" + BAD)
    rows = [(1.0, "hub", key, key, "f", "first", 3, None) for key in ("org/a", bad, "org/b")]
    store.transaction([("INSERT INTO downloads VALUES (?,?,?,?,?,?,?,?)", rows)])
    got = sorted(str(m) for (m,) in store.query("SELECT model FROM downloads WHERE root=?", ("hub",)))
    assert got == sorted(["org/a", bad, "org/b"])
    raw = {m for (m,) in store.db.execute("SELECT model FROM downloads")}
    assert b"org/" + BAD in raw and "org/a" in raw  # the bad name as its bytes, the others as text
    store.close()
