"""When the sidecar cannot see the cache (no shared volume), the web UI's log classifies downloads;
when it can, the filesystem does and a download is counted once."""

from __future__ import annotations

from pathlib import Path

from helpers import InProcess

SAMPLE = Path(__file__).parent / "fixtures" / "logs" / "indextts2-first-start-with-downloads.log"
QUIET = [
    "--collector.cache.scan-workers",
    "0",
    "--no-collector.filesystem",
    "--no-collector.diskstats",
    "--no-collector.probe",
    "--collector.logs.poll-interval",
    "50ms",
]


def _config(tmp_path: Path, root: Path, log: Path) -> Path:
    conf = tmp_path / "c.yml"
    conf.write_text(f"roots: [{{path: {root}, name: hub, layout: hf-hub}}]\nlogs: [{{name: webui, path: {log}}}]\n")
    return conf


def test_log_classifies_downloads_when_no_root_is_visible(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    log.write_bytes(b"")
    args = [
        "--config.file",
        str(_config(tmp_path, tmp_path / "not-mounted", log)),
        "--path.state",
        str(tmp_path / "s"),
        *QUIET,
    ]
    with InProcess(args) as ex:
        ex.wait("modelcache_root_present", lambda v: v == 0, root="hub")
        with open(log, "ab") as fh:  # the web UI's cold start
            fh.write(SAMPLE.read_bytes())
        ex.wait("modelcache_downloads_total", lambda v: v == 7, root="log:webui", reason="first")
        with open(log, "ab") as fh:  # it started again from an empty cache: the same downloads
            fh.write(SAMPLE.read_bytes())
        ex.wait("modelcache_downloads_total", lambda v: v == 7, root="log:webui", reason="redownload")
        assert ex.get("modelcache_unexpected_redownloads_total", root="log:webui", repo="facebook/w2v-bert-2.0") == 3
        assert ex.get("modelcache_downloads_total", root="log:webui", reason="first") == 7


def test_log_downloads_are_not_counted_twice_when_the_root_is_visible(tmp_path: Path) -> None:
    log = tmp_path / "webui.log"
    log.write_bytes(b"")
    (tmp_path / "hub").mkdir()
    args = ["--config.file", str(_config(tmp_path, tmp_path / "hub", log)), "--path.state", str(tmp_path / "s"), *QUIET]
    with InProcess(args) as ex:
        ex.wait("modelcache_root_present", lambda v: v == 1, root="hub")
        with open(log, "ab") as fh:
            fh.write(SAMPLE.read_bytes())
        ex.wait("modelcache_log_downloads_finished_total", lambda v: v == 3, source="hf", repo="facebook/w2v-bert-2.0")
        assert ex.get("modelcache_downloads_total", root="log:webui", reason="first") is None
        assert ex.get("modelcache_downloads_total", root="hub", reason="first") == 0
