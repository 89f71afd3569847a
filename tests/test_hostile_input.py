"""Property-based tests (hypothesis) of every parser and of the configuration loaders: arbitrary input never
raises anything but the documented error, results keep their invariants, and well-formed input round-trips.

Example counts are modest (CI runs on 2 cores); `HYPOTHESIS_PROFILE=thorough` runs 20x more."""

from __future__ import annotations

import contextlib
import json
import os
import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelcache_exporter.base.values import (
    ConfigError,
    non_negative_int,
    parse_bool,
    parse_duration,
    parse_listen_address,
    positive_int,
)
from modelcache_exporter.fshealth.diskstats import parse_diskstats
from modelcache_exporter.fshealth.fsinfo import parse_mountinfo
from modelcache_exporter.ledger.partials import parse_proc_locks
from modelcache_exporter.logs.rules import parse as lp
from modelcache_exporter.logs.tail.assemble import LineAssembler
from modelcache_exporter.logs.tail.decode import Decoder
from modelcache_exporter.scan.hub import REPO_TYPES, parse_repo_dirname
from modelcache_exporter.scan.localdir import parse_metadata

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Bytes a hostile log holds: text, tqdm's \r, ANSI escapes, NUL, invalid UTF-8, JSON and CRI framing.
NASTY = st.sampled_from(
    [b"\r", b"\n", b"\x1b[31m", b"\x1b[A", b"\x1b]0;t\x07", b"\x00", b"\xff\xfe", b"\xc3\x28", b'{"log":"', b'"}',
     b"2026-01-01T00:00:00.123456789Z stdout F ", b" P ", b"100%|##########| 1.00k/1.00k [00:00<00:00, 1.00MB/s]",
     b"Downloading 'f.bin' to '/h/models--o--m/blobs/x.incomplete'", b"models--", b"--", b">> ", "é".encode()]
)  # fmt: skip
LOG_BYTES = st.lists(st.one_of(st.binary(max_size=40), NASTY), max_size=60).map(b"".join)


# -- log line parsers ------------------------------------------------------------------------------------------
@given(st.binary(max_size=300))
def test_line_helpers_take_any_bytes(line: bytes) -> None:
    state = lp.current_state(line)
    assert b"\r" not in state and state == state.rstrip()
    assert all(b"\r" not in s for s in lp.earlier_states(line))
    assert len(lp.strip_ansi(line)) <= len(line)
    size = lp.parse_size(line)
    assert size is None or isinstance(size, int)
    clock = lp.parse_clock(line)
    assert clock is None or clock >= 0
    assert lp.parse_local_timestamp(line) is None or isinstance(lp.parse_local_timestamp(line), float)
    assert lp.detect_format(line) in ("docker", "cri", "plain")
    assert isinstance(lp.text(line), str)
    cri = lp.parse_cri(line)
    assert cri is None or cri[1] in (b"stdout", b"stderr")
    docker = lp.parse_docker(line)
    assert docker is None or isinstance(docker[2], bytes)


@given(st.text(max_size=200))
def test_text_helpers_take_any_text(text: str) -> None:
    assert lp.parse_rfc3339(text) is None or isinstance(lp.parse_rfc3339(text), float)
    repo = lp.repo_from_path(text)
    assert repo == "" or repo.count("/") >= 1
    assert isinstance(lp.valid_repo(text), bool)
    assert "/" not in lp.basename(text).replace("\\", "")


@given(st.integers(0, 9999), st.sampled_from(["", "k", "M", "G", "T"]), st.sampled_from(["", "B", "iB"]))
def test_tqdm_sizes_round_trip(n: int, prefix: str, unit: str) -> None:
    base = 1024 if unit == "iB" else 1000
    power = ["", "k", "M", "G", "T"].index(prefix)
    assert lp.parse_size(f"{n}{prefix}{unit}".encode(), base) == n * base**power


@given(st.integers(0, 3), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_tqdm_clocks_round_trip(d: int, h: int, m: int, s: int) -> None:
    text = (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"
    assert lp.parse_clock(text.encode()) == d * 86400 + h * 3600 + m * 60 + s


# -- the whole per-line pipeline --------------------------------------------------------------------------------
def _monitor_lines(data: bytes, fmt: str, cap: int = 1024) -> tuple[float, float]:
    from logtools import metrics, monitor

    from modelcache_exporter.logs.rules.sources import LogSourceConfig

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "webui.log"
        path.write_bytes(data)
        mon, _rec = monitor(sources=[LogSourceConfig("webui", str(path), format=fmt)], max_line=cap)
        mon.poll_once()
        text = metrics(mon)
        mon.stop()
    from helpers import value

    return value(text, "modelcache_log_lines_total", log="webui") or 0.0, len(text)


@settings(max_examples=40)
@given(LOG_BYTES)
def test_any_plain_log_is_read_line_by_line(data: bytes) -> None:
    lines, size = _monitor_lines(data, "plain")
    assert lines == data.count(b"\n")  # split on \n only: \r, NUL, bad UTF-8, escapes change nothing
    assert size < 64 * 1024


@settings(max_examples=40)
@given(LOG_BYTES, st.sampled_from(["auto", "docker", "cri"]))
def test_any_container_log_never_breaks_the_monitor(data: bytes, fmt: str) -> None:
    lines, _ = _monitor_lines(data, fmt)
    assert 0 <= lines <= data.count(b"\n")


@given(st.lists(st.binary(max_size=3000), max_size=8), st.integers(1024, 2048))
def test_assembler_bounds_every_line(chunks: list[bytes], cap: int) -> None:
    asm = LineAssembler(cap)
    out = [line for c in chunks for line in asm.feed(c)] + asm.flush()
    assert all(len(line) <= cap for line in out)
    assert len(out) == b"".join(chunks).count(b"\n") + (1 if b"".join(chunks).rpartition(b"\n")[2] else 0)


# -- container log decoders -------------------------------------------------------------------------------------
PIECE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=50)


@given(st.lists(st.binary(max_size=200), max_size=10), st.sampled_from(["docker", "cri"]))
def test_decoders_take_any_lines(lines: list[bytes], fmt: str) -> None:
    dec = Decoder(fmt, 1024)
    out, times = dec.decode([line.replace(b"\n", b"") for line in lines], 1.0)
    assert len(out) == len(times) and all(len(line) <= 1024 for line in out)


@given(st.lists(PIECE, min_size=1, max_size=6), st.sampled_from(["stdout", "stderr"]))
def test_cri_partial_lines_are_joined(pieces: list[str], stream: str) -> None:
    stamp = "2026-01-02T03:04:05.123456789Z"
    raw = [f"{stamp} {stream} {'P' if i < len(pieces) - 1 else 'F'} {p}".encode() for i, p in enumerate(pieces)]
    out, times = Decoder("cri", 65536).decode(raw, 0.0)
    assert out == ["".join(pieces).encode()]
    assert times == [lp.parse_rfc3339(stamp)]


@given(st.lists(PIECE, min_size=1, max_size=6))
def test_docker_partial_lines_are_joined(pieces: list[str]) -> None:
    raw = [
        json.dumps({"log": p + ("\n" if i == len(pieces) - 1 else ""), "stream": "stdout",
                    "time": "2026-01-02T03:04:05.5Z"}).encode()
        for i, p in enumerate(pieces)
    ]  # fmt: skip
    out, _ = Decoder("docker", 65536).decode(raw, 0.0)
    assert out == ["".join(pieces).encode("utf-8", "surrogateescape")]


# -- /proc and cache bookkeeping parsers ------------------------------------------------------------------------
@given(st.text(max_size=500))
def test_proc_parsers_take_any_text(text: str) -> None:
    assert all(m.mountpoint is not None for m in parse_mountinfo(text))
    assert all(isinstance(k, str) for k in parse_diskstats(text))
    assert all(len(t) == 3 for t in parse_proc_locks(text))


@given(
    st.integers(1, 9999), st.integers(0, 255), st.integers(0, 255), st.text(string.ascii_letters + "/ ", max_size=20)
)
def test_mountinfo_round_trip(mid: int, major: int, minor: int, where: str) -> None:
    point = "/" + where.strip("/").replace(" ", "\\040")
    line = f"{mid} 1 {major}:{minor} / {point} rw,relatime shared:1 - ext4 /dev/vda rw"
    (m,) = parse_mountinfo(line)
    assert (m.major, m.minor, m.mountpoint, m.fstype) == (major, minor, point.replace("\\040", " "), "ext4")


@given(st.lists(st.integers(0, 2**40), min_size=11, max_size=11), st.from_regex(r"[a-z]{2,6}[0-9]?", fullmatch=True))
def test_diskstats_round_trip(n: list[int], dev: str) -> None:
    stats = parse_diskstats(f"   8       0 {dev} " + " ".join(map(str, n)) + " 0 0 0 0\n")
    assert stats[dev].reads == n[0] and stats[dev].read_bytes == n[2] * 512 and stats[dev].in_progress == n[8]


@given(st.integers(0, 255), st.integers(0, 255), st.integers(1, 2**40), st.booleans())
def test_proc_locks_round_trip(major: int, minor: int, inode: int, waiter: bool) -> None:
    arrow = "-> " if waiter else ""
    line = f"1: {arrow}FLOCK  ADVISORY  WRITE 4242 {major:02x}:{minor:02x}:{inode} 0 EOF"
    assert parse_proc_locks(line) == (set() if waiter else {(major, minor, inode)})


@given(st.text(max_size=300))
def test_metadata_parser(text: str) -> None:
    got = parse_metadata(text)
    assert got is None or (got[0] and got[1] and got == (got[0].strip(), got[1].strip()))


@given(st.text(max_size=120))
def test_repo_dirname_parser(name: str) -> None:
    got = parse_repo_dirname(name)
    if got is not None:
        assert got[0] in REPO_TYPES.values() and got[1] == name.partition("--")[2].replace("--", "/")


# -- settings parsers -------------------------------------------------------------------------------------------
@given(st.text(max_size=40))
def test_setting_parsers_raise_only_value_error(text: str) -> None:
    for fn in (parse_duration, parse_bool, parse_listen_address, positive_int, non_negative_int):
        try:
            got = fn(text)
        except ValueError:
            continue
        if fn is parse_duration:
            assert 0 <= got < float("inf")  # NaN and inf are refused
        if fn is parse_listen_address:
            assert 0 <= got[1] <= 65535
        if fn is positive_int:
            assert got >= 1


@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["ms", "s", "m", "h", "d"])), min_size=1, max_size=4))
def test_durations_round_trip(parts: list[tuple[int, str]]) -> None:
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    text = "".join(f"{n}{u}" for n, u in parts)
    assert abs(parse_duration(text) - sum(n * unit[u] for n, u in parts)) < 1e-6 * max(1, parse_duration(text))


@given(st.ip_addresses(), st.integers(0, 65535))
def test_listen_addresses_round_trip(ip: object, port: int) -> None:
    text = f"[{ip}]:{port}" if ":" in str(ip) else f"{ip}:{port}"
    assert parse_listen_address(text) == (str(ip), port)


# -- the configuration loaders ----------------------------------------------------------------------------------
KEYS = [
    "web", "listen-address", "telemetry-path", "config", "file", "collector", "cache", "poll-interval",
    "max-models", "enabled", "roots", "path", "name", "layout", "model", "logs", "patterns", "regex", "event",
    "required", "hub", "files", "probe", "interval", "log", "level", "ledger", "stall-after", "profile",
    "tls_server_config", "cert_file", "basic_auth_users", "http_server_config", "headers", "rate_limit", "burst",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["5s", "1h", ":10860", "hf-hub", "plain", "indextts2", "^x(", "TLS13", "/tmp", "a/b"]),
)  # fmt: skip
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers()), inner, max_size=5),
    ),
    max_leaves=20,
)


@settings(max_examples=150)
@given(DOCS)
def test_any_yaml_document_is_a_config_or_a_config_error(doc: object) -> None:
    from modelcache_exporter.config.parser import parse

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exporter.yml"
        path.write_text(yaml.safe_dump(doc))
        try:
            cfg = parse(["--config.file", str(path), "--path.state", tmp], environ={"HOME": tmp})
        except ConfigError as exc:
            assert "\n" not in str(exc)
            return
        assert cfg.roots


@settings(max_examples=100)
@given(DOCS)
def test_any_web_config_is_a_web_config_or_a_config_error(doc: object) -> None:
    from modelcache_exporter.web.config import load_web_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "web.yml"
        path.write_text(yaml.safe_dump(doc))
        try:
            load_web_config(str(path))
        except ConfigError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=30)
@given(st.binary(max_size=200))
def test_any_bytes_as_a_config_file(data: bytes) -> None:
    from modelcache_exporter.config.parser import parse
    from modelcache_exporter.web.config import load_web_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yml"
        path.write_bytes(data)
        for load in (
            lambda: parse(["--config.file", str(path)], environ={"HOME": tmp}),
            lambda: load_web_config(str(path)),
        ):
            with contextlib.suppress(ConfigError):
                load()
