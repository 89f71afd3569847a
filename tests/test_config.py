"""Configuration: precedence flags > env > file > defaults, discovery of the libraries' caches, and
one-line errors with exit code 2."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from modelcache_exporter.base.values import ConfigError, parse_duration, parse_listen_address
from modelcache_exporter.config.parser import parse


def test_defaults(tmp_path: Path) -> None:
    cfg = parse(["--path.cache", str(tmp_path)], environ={})
    assert cfg.web_listen_address == "127.0.0.1:10860"  # loopback unless told otherwise
    assert cfg.web_telemetry_path == "/metrics"
    assert (cfg.cache, cfg.filesystem, cfg.diskstats, cfg.probe) == (True, True, True, True)
    assert cfg.cache_reconcile_interval == 600.0


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    conf = tmp_path / "c.yml"
    conf.write_text(
        "web:\n  listen-address: ':1111'\n  telemetry_path: /from-file\n"
        "collector:\n  cache: {poll-interval: 7s, reconcile_interval: 1h}\n  probe: {enabled: false}\n"
        f"roots:\n  - path: {tmp_path}\n    name: cache-a\n    layout: hf-hub\n"
    )
    env = {"MODELCACHE_WEB_LISTEN_ADDRESS": ":2222", "MODELCACHE_COLLECTOR_CACHE_POLL_INTERVAL": "9s"}
    cfg = parse(["--config.file", str(conf), "--web.listen-address", ":3333"], environ=env)
    assert cfg.web_listen_address == ":3333"  # flag
    assert cfg.cache_poll_interval == 9.0  # env beats file
    assert cfg.cache_reconcile_interval == 3600.0  # file beats default
    assert cfg.web_telemetry_path == "/from-file"
    assert cfg.probe is False  # `enabled:` stands for the switch
    assert [(r.name, r.layout) for r in cfg.roots] == [("cache-a", "hf-hub")]
    cfg = parse(["--config.file", str(conf), "--collector.probe"], environ={})
    assert cfg.probe is True and cfg.web_listen_address == ":1111"


def test_path_cache_flags_take_names_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    conf = tmp_path / "c.yml"
    conf.write_text(f"roots:\n  - {{path: {tmp_path / 'a'}, name: named, layout: plain}}\n")
    cfg = parse(
        ["--config.file", str(conf), "--path.cache", str(tmp_path / "a"), "--path.cache", str(tmp_path / "b" / "hub")],
        environ={},
    )
    assert [(r.name, r.layout, r.origin) for r in cfg.roots] == [
        ("named", "plain", "--path.cache"),
        ("hub", "auto", "--path.cache"),
    ]
    env = {"MODELCACHE_PATH_CACHE": f"{tmp_path / 'x'}{os.pathsep}{tmp_path / 'y'}"}
    assert [r.name for r in parse([], environ=env).roots] == ["x", "y"]


@pytest.mark.parametrize(
    "text,expected", [("90s", 90.0), ("10m", 600.0), ("1h30m", 5400.0), ("250ms", 0.25), ("2", 2.0)]
)
def test_durations(text: str, expected: float) -> None:
    assert parse_duration(text) == expected


def test_listen_addresses() -> None:
    assert parse_listen_address(":9") == ("0.0.0.0", 9)
    assert parse_listen_address("[::1]:10860") == ("::1", 10860)
    with pytest.raises(ValueError):
        parse_listen_address("localhost")


@pytest.mark.parametrize(
    "args,file_text,needle",
    [
        (["--web.listen-address", "nope"], None, '--web.listen-address: "nope" is not host:port or :port'),
        (["--collector.cache.poll-interval", "5x"], None, "is not a duration"),
        (["--web.telemetry-path", "metrics"], None, '"metrics" does not start with /'),
        (["--log.level", "loud"], None, '"loud" is not one of debug, info, warn, error'),
        (["--no-such-flag"], None, "unknown flag --no-such-flag; see 'modelcache-exporter --help'"),
        (
            [],
            "collector:\n  cache: {poll-intervall: 5s}\n",
            "unknown setting 'collector.cache.poll-intervall'; did you mean 'collector.cache.poll-interval'?",
        ),
        ([], "roots: [{path: /x, layout: hub}]\n", "unknown layout 'hub'; use one of auto, hf-hub"),
        ([], "roots: [{path: /x, name: a}, {path: /y, name: a}]\n", "two cache roots are named 'a'"),
        ([], "roots:\n  - path: /x\n    nmae: a\n", "unknown key 'nmae'"),
        ([], "web: [unclosed\n", "is not valid YAML"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], file_text: str | None, needle: str
) -> None:
    if file_text is not None:
        (tmp_path / "c.yml").write_text(file_text)
        args = [*args, "--config.file", str(tmp_path / "c.yml")]
    proc = subprocess.run(
        [sys.executable, "-m", "modelcache_exporter", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("modelcache-exporter: error: ") and needle in lines[0]


def test_probe_directory_inside_a_cache_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is inside cache root"):
        parse(["--path.cache", str(tmp_path), "--collector.probe.dir", str(tmp_path / "probe")], environ={})


def discover(env: dict[str, str]) -> list[tuple[str, str, str]]:
    code = (
        "from modelcache_exporter.config.roots import discover_roots; import os; "
        "print([(r.name, r.path, r.layout) for r in discover_roots(os.environ)])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT), **env},
    )
    return ast.literal_eval(out.stdout)


def test_discovery_follows_the_libraries_resolution_order(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert discover({"HOME": home}) == [("hub", f"{home}/.cache/huggingface/hub", "hf-hub")]
    assert discover({"HOME": home, "XDG_CACHE_HOME": "/xdg"})[0][1] == "/xdg/huggingface/hub"
    assert discover({"HOME": home, "HF_HOME": "/hf"})[0][1] == "/hf/hub"
    assert discover({"HOME": home, "HF_HOME": "/hf", "HF_HUB_CACHE": "/hubcache"})[0][1] == "/hubcache"
    full = discover(
        {"HOME": home, "HF_HOME": "/hf", "HF_XET_CACHE": "/xet", "TORCH_HOME": "/torch", "MODELSCOPE_CACHE": "/ms"}
    )
    assert full == [
        ("hub", "/hf/hub", "hf-hub"),
        ("xet", "/xet", "plain"),
        ("torch", "/torch/hub", "plain"),
        ("modelscope", "/ms", "modelscope"),
    ]
    os.makedirs(f"{home}/.cache/huggingface/xet")  # an existing default is picked up without a variable
    assert [r[0] for r in discover({"HOME": home})] == ["hub", "xet"]
