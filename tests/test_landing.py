"""The landing page `/` as an on-call person reads it, from a real exporter process on hub caches written by the
real huggingface_hub client: healthy first, then an incident (one root wiped by `rm -rf` while the exporter runs,
a download hung mid-file on another root with its lock still held), then the re-download. The page is fetched
as HTML and asserted on as text, and shot with headless Chromium (Debian's package) at 1280x1024 into the
test's tmp_path: a PNG of the right size, not blank, showing the red of a root that is gone."""

from __future__ import annotations

import os
import re
import shutil
import signal
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from e2etools import Sidecar
from fakehub import FakeHub, run_download, start_download
from helpers import REPO_ROOT, Process, free_port, require_tool, samples, wait_for

TTS_WEIGHTS = 5_200_000  # 4.96 MiB: a root of this size read "0.00 GB" on the old page
REPOS = {
    "org/tts": {"config.json": b'{"a": 1}\n', "model.safetensors": b"\x01" * TTS_WEIGHTS},
    "org/vocoder": {"config.json": b'{"v": 2}\n', "generator.pt": b"\x02" * 30_000},
    "org/slow": {"weights.bin": b"\x03" * 400_000},
}
FAST = [
    "--collector.cache.scan-workers=0",
    "--collector.cache.poll-interval=1s",
    "--collector.required.interval=1s",
    "--collector.filesystem.interval=1s",
    "--collector.ledger.stall-after=2s",
    "--no-collector.probe",
]
LOG = REPO_ROOT / "tests" / "fixtures" / "logs" / "indextts2-first-start-with-downloads.log"
LOG_LINES = LOG.read_bytes().count(b"\n")
CRIT_RED = (0xC6, 0x28, 0x28)  # the badge of a root that is gone (landing.CSS `.badge.crit`)
SIZE = re.compile(r"\b\d+(?:\.\d+)? (?:B|KiB|MiB|GiB|TiB)\b")


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as h:
        for repo, files in REPOS.items():
            h.add_repo(repo, files)
        yield h


def _config(tmp: Path) -> Path:
    doc = {
        "roots": [{"path": str(tmp / "hub"), "name": "hub"}, {"path": str(tmp / "work"), "name": "work"}],
        "required": [{"hub": "org/tts", "root": "hub"}, {"hub": "org/absent"}],
        "logs": [{"name": "webui", "path": str(tmp / "webui.log")}],
    }
    path = tmp / "modelcache.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _value(proc: Process, name: str, **labels: str) -> float:
    return samples(proc.metrics()).get((name, frozenset(labels.items())), 0.0)


def _wait(proc: Process, name: str, expected: float, **labels: str) -> None:
    wait_for(lambda: _value(proc, name, **labels) == expected, 30, 0.1, f"{name}{labels} == {expected}")


def _section(page: str, root: str) -> str:
    """The HTML of one root's section."""
    start = page.index(f"id='root-{root}'>") + len(f"id='root-{root}'>")
    return page[start : page.index("</section>", start)]


def _text(html: str) -> str:
    """The words of some HTML (tags dropped, entities kept)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_landing_page_shows_a_wiped_root_and_a_stalled_download(tmp_path: Path, hub: FakeHub) -> None:
    hub_root, work = tmp_path / "hub", tmp_path / "work"
    for repo in ("org/tts", "org/vocoder"):
        run_download(hub, repo_id=repo, cache_dir=str(hub_root))
    run_download(hub, repo_id="org/vocoder", cache_dir=str(work))
    (tmp_path / "webui.log").write_bytes(LOG.read_bytes())
    args = [f"--config.file={_config(tmp_path)}", f"--path.state={tmp_path / 'state'}", *FAST]
    client: subprocess.Popen[str] | None = None
    with Sidecar(args, free_port()) as proc:
        _wait(proc, "modelcache_index_ready", 1.0, root="work")
        _wait(proc, "modelcache_required_model_present", 1.0, root="hub", model="org/tts")
        _wait(proc, "modelcache_log_lines_total", float(LOG_LINES), log="webui")
        healthy = requests.get(proc.url + "/", timeout=5).text
        _assert_healthy(healthy)

        hub.throttle_bytes_per_second = 100_000  # 4 s for org/slow's weights
        client = start_download(hub, repo_id="org/slow", cache_dir=str(work))
        try:
            _wait(proc, "modelcache_download_locks_held", 1.0, root="work")
            os.kill(client.pid, signal.SIGSTOP)  # hung mid-file: it holds its lock, its file stops growing
            shutil.rmtree(hub_root)  # and someone wiped the other cache
            _wait(proc, "modelcache_cache_wipes_total", 1.0, root="hub")
            _wait(proc, "modelcache_downloads_stalled", 1.0, root="work")
            _wait(proc, "modelcache_required_model_present", 0.0, root="", model="org/tts")
            incident = requests.get(proc.url + "/", timeout=5).text
            (tmp_path / "incident.html").write_text(incident)
            _assert_incident(incident)
            _screenshot(proc.url + "/", tmp_path)
        finally:
            client.kill()
            client.wait()
        hub.throttle_bytes_per_second = None
        run_download(hub, repo_id="org/tts", cache_dir=str(hub_root))  # the web UI's next start fetches it again
        _wait(proc, "modelcache_downloads_total", 2.0, root="hub", reason="redownload")
        _assert_redownloaded(requests.get(proc.url + "/", timeout=5).text)


def test_hostile_names_are_escaped_and_a_dangling_ref_is_not_ok(tmp_path: Path, hub: FakeHub) -> None:
    """A plain root whose folders are named like markup (and one not UTF-8), a hub root whose only repo's `main`
    names a revision that has no snapshot: the names are shown as text, and the hub root is not `OK`."""
    plain, ghost = tmp_path / "plain", tmp_path / "ghost"
    for name in (b"<img src=x onerror=alert(1)>", b"caf\xff", b"a&b"):
        folder = os.path.join(os.fsencode(plain), name)
        os.makedirs(folder)
        Path(os.fsdecode(folder), "weights.bin").write_bytes(b"\x00" * 4096)
    run_download(hub, repo_id="org/vocoder", cache_dir=str(ghost))
    (ghost / "models--org--vocoder" / "refs" / "main").write_text("0" * 40)  # a commit with no snapshot
    roots = [{"path": str(plain), "name": "plain", "layout": "plain"}, {"path": str(ghost), "name": "ghost"}]
    (tmp_path / "c.yml").write_text(yaml.safe_dump({"roots": roots}))
    with Process([f"--config.file={tmp_path / 'c.yml'}", f"--path.state={tmp_path / 's'}", *FAST]) as proc:
        _wait(proc, "modelcache_index_ready", 1.0, root="plain")
        _wait(proc, "modelcache_index_ready", 1.0, root="ghost")
        page = requests.get(proc.url + "/", timeout=5).text
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "caf\\xff" in page and "a&amp;b" in page
    assert re.search(r"<code>[0-9a-f]{16}</code>", page), "each model's content fingerprint is shown"
    ghost_part = _text(_section(page, "ghost"))
    assert ghost_part.split()[0] == "PROBLEMS", ghost_part[:300]
    assert "dangling ref (names a revision that has no snapshot): org/vocoder" in ghost_part
    assert "4.00 KiB" in _text(_section(page, "plain"))


def _assert_healthy(page: str) -> None:
    hub_part, words = _section(page, "hub"), _text(page)
    assert "GB" not in words and " 0 B " not in _text(hub_part)
    assert "4.96 MiB" in _text(hub_part)  # org/tts's weights, in binary units with 3 significant digits
    assert "<span class='main'>main</span>" in hub_part  # which revision is main is marked
    # largest first: org/tts before org/vocoder
    assert hub_part.index("<td>org/tts</td>") < hub_part.index("<td>org/vocoder</td>")
    assert "hf-hub (detected)" in words and "verified" in words
    assert "MISSING" not in _text(hub_part) and "STALLED" not in words
    required = page[page.index("<h2>Required models</h2>") :]
    assert re.search(r"org/tts</td><td><span class='badge ok'>complete</span></td><td>hub: models--org--tts", required)
    assert "org/absent</td><td><span class='badge crit'>MISSING</span>" in required
    logs = _text(page[page.index("<h2>Logs</h2>") :])
    assert re.search(rf"webui \S+/webui\.log 1 {LOG_LINES} ", logs), logs
    assert "href='/metrics'" in page and "href='/healthz'" in page and "<script" not in page


def _assert_incident(page: str) -> None:
    hub_part, work_part = _text(_section(page, "hub")), _text(_section(page, "work"))
    assert hub_part.split()[0] == "MISSING", hub_part[:200]
    assert "the next start downloads every model" in hub_part
    assert re.search(r"wiped (just now|\d+ s ago): it lost most of its bytes at once", hub_part), hub_part
    assert work_part.split()[0] == "STALLED", work_part[:200]
    assert re.search(r"1 partial download not grown for \d+ s; 1 download lock held", work_part), work_part
    partial = re.search(
        r"org/slow blobs/[0-9a-f]{64}\S*\.incomplete (\S+ \S+) (\S+ \S+ ago|just now) STALLED", work_part
    )
    assert partial and SIZE.fullmatch(partial.group(1)), work_part  # bytes so far (the client writes 10 MB chunks)
    assert "org/vocoder" in work_part and "29.3 KiB" in work_part  # the rest of the root still listed
    attention = _text(page[: page.index("id='root-")])
    assert "hub: MISSING" in attention and "work: STALLED" in attention
    assert "required org/tts: MISSING" in attention and "required org/absent: MISSING" in attention


def _assert_redownloaded(page: str) -> None:
    hub_part = _text(_section(page, "hub"))
    assert hub_part.split()[0] == "WIPED", hub_part[:200]  # back, but the wipe stays on the page
    assert "RE-DOWNLOAD: 2 files (4.96 MiB)" in hub_part
    assert re.search(r"UTC \((just now|\d+ s ago)\) org/tts RE-DOWNLOAD 2 4\.96 MiB", hub_part), hub_part


def _screenshot(url: str, tmp: Path) -> None:
    """Chromium's headless screenshot of `url` into `tmp`: the size asked for, not blank, the incident's red."""
    chromium = require_tool("chromium")
    shot = tmp / "landing.png"
    cmd = [
        chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-dev-shm-usage",
        "--hide-scrollbars", f"--user-data-dir={tmp / 'chromium'}", f"--screenshot={shot}",
        "--window-size=1280,1024", url,
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(tmp), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=tmp)
    assert shot.exists(), f"chromium exited {out.returncode} without a screenshot:\n{out.stderr[-3000:]}"
    width, height, pixels = read_png(shot.read_bytes())
    assert (width, height) == (1280, 1024)
    assert len(set(pixels)) > 50, "the screenshot is (nearly) blank"
    assert any(all(abs(a - b) <= 3 for a, b in zip(p, CRIT_RED, strict=True)) for p in set(pixels)), (
        "no red badge in the screenshot"
    )


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, RGB pixels) of an 8-bit RGB or RGBA PNG, decoded with zlib (no imaging library)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, idat = 8, {}, b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        idat += body if kind == b"IDAT" else b""
        chunks.setdefault(kind, body)
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and color in (2, 6), f"unexpected PNG format: depth {depth}, color type {color}"
    return width, height, _unfilter(zlib.decompress(idat), width, height, 3 if color == 2 else 4)


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[tuple[int, ...]]:
    """The PNG scanline filters undone (None, Sub, Up, Average, Paeth); the RGB of each pixel."""
    stride, prev, out = width * bpp, bytearray(width * bpp), []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a, b = line[i - bpp] if i >= bpp else 0, prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out.extend(tuple(line[x : x + 3]) for x in range(0, stride, bpp))
        prev = line
    return out


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, "0 B"), (999, "999 B"), (1000, "0.977 KiB"), (1024, "1.00 KiB"), (5_200_000, "4.96 MiB"),
     (102_359, "100 KiB"), (10**9, "954 MiB"), (123_456_789_012, "115 GiB")],
)  # fmt: skip
def test_sizes_read_in_binary_units_with_three_significant_digits(n: int, shown: str) -> None:
    from modelcache_exporter.base.human import size

    assert size(n) == shown
