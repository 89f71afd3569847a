"""The command line as a person meets it: `--help` (commands first, one line a flag, real defaults, grouped),
and every mistake one line naming the flag and a good value, exit code 2 — run as the real CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO_ROOT

from modelcache_exporter.base.values import format_duration, parse_duration
from modelcache_exporter.config import helptext
from modelcache_exporter.config.flags import env_name, settings
from modelcache_exporter.config.parser import parse

ERR = "modelcache-exporter: error: "


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The exporter as a user runs it (environment: this one without MODELCACHE_*, plus `env`)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MODELCACHE_")}
    return subprocess.run(
        [sys.executable, "-m", "modelcache_exporter", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
        env={**base, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(ERR), lines[0]
    return lines[0].removeprefix(ERR)


def squeeze(line: str) -> str:
    return " ".join(line.split())


def test_help_lists_the_check_command_first_then_grouped_flags_one_line_each() -> None:
    proc = cli("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["usage: modelcache-exporter [<flags>]", "       modelcache-exporter check [<flags>]"]
    titles = [line for line in lines if line and not line.startswith(" ") and line.endswith(":")]
    assert titles == [
        "Commands:", "Flags:", "Web server:", "Paths:", "Configuration file and logging:", "Cache collector:",
        "Filesystem collector:", "Disk IO latency collector:", "Active IO probe:", "Textfile output:",
        "Web UI log collector:", "Web UI load-time collector:", "Download ledger:", "Required models:",
        "Offline verification:",
    ]  # fmt: skip
    check = lines.index("Commands:") + 1
    assert squeeze(lines[check]).startswith("check Print one report of the cache roots")
    body = lines[lines.index("Flags:") :]
    flag_lines = [line for line in body if line.startswith("  ")]
    assert all(line.startswith("  -") for line in flag_lines)  # one line a flag: nothing wraps
    assert len(flag_lines) == 2 + len(settings())
    for line in (
        "--web.listen-address=HOST:PORT Address to listen on: host:port, or :port for all interfaces. "
        "(default: 127.0.0.1:10860; env MODELCACHE_WEB_LISTEN_ADDRESS)",
        "--web.config.file=FILE Web configuration file (Prometheus exporter-toolkit format): TLS, client "
        "certificates, basic auth. (env MODELCACHE_WEB_CONFIG_FILE)",
        "--[no-]collector.cache Enable the cache collector (sizes, models, index). "
        "(default: on; env MODELCACHE_COLLECTOR_CACHE)",
        "--collector.cache.reconcile-interval=DURATION How often a size pass over every root checks the "
        "event-driven index for drift. (default: 10m; env MODELCACHE_COLLECTOR_CACHE_RECONCILE_INTERVAL)",
        "--collector.logs.poll-interval=DURATION How often logs are checked for lines, rotation, truncation. "
        "(default: 250ms; env MODELCACHE_COLLECTOR_LOGS_POLL_INTERVAL)",
        "--collector.required.profile=PROFILE Built-in set of required models to check: indextts2. "
        "(env MODELCACHE_COLLECTOR_REQUIRED_PROFILE)",
    ):
        assert line in [squeeze(x) for x in flag_lines], line
    text = proc.stdout
    for bad in ("default: ;", "default: True", "default: False", "600.0", "discovered; env MODELCACHE_PATH_WEBUI"):
        assert bad not in text, bad
    for f in settings():
        assert text.count(f"{env_name(f.metadata['flag'])})") == 1, f.metadata["flag"]
        assert text.count(f"default: {helptext.default_text(f)};") >= 1 or not helptext.default_text(f)


def test_the_logs_section_holds_the_web_ui_log_with_no_default() -> None:
    lines = cli("--help").stdout.splitlines()
    start = lines.index("Web UI log collector:")
    section = lines[start + 1 : lines.index("", start)]
    (webui_log,) = [squeeze(x) for x in section if x.strip().startswith("--path.webui-log=")]
    assert webui_log.endswith("detected. (env MODELCACHE_PATH_WEBUI_LOG)")


@pytest.mark.parametrize(
    "args,env,expected",
    [
        (["--web.max-requests=abc"], {}, '--web.max-requests: "abc" is not a whole number '
         "(example: --web.max-requests=40)"),
        (["--web.max-requests"], {}, "--web.max-requests needs a value (example: --web.max-requests=40)"),
        (["--collector.cache.max-models=0"], {}, '--collector.cache.max-models: "0" is less than 1 '
         "(example: --collector.cache.max-models=200)"),
        (["--collector.cache.poll-interval", "5x"], {}, '--collector.cache.poll-interval: "5x" is not a duration '
         "like 30s, 10m or 1h30m (example: --collector.cache.poll-interval=5s)"),
        (["--collector.cache=off"], {}, "--collector.cache takes no value; give --collector.cache or "
         "--no-collector.cache"),
        (["--log.level=loud"], {}, '--log.level: "loud" is not one of debug, info, warn, error '
         "(example: --log.level=info)"),
        (["--collector.required.profile=indextts3"], {}, '--collector.required.profile: "indextts3" is not one of '
         "indextts2 (example: --collector.required.profile=indextts2)"),
        (["--web.listen-address=localhost"], {}, '--web.listen-address: "localhost" is not host:port or :port '
         "(example: --web.listen-address=127.0.0.1:10860)"),
        (["--web.listen-address=:70000"], {}, '--web.listen-address: ":70000": port 70000 is above 65535 '
         "(example: --web.listen-address=127.0.0.1:10860)"),
        ([], {"MODELCACHE_WEB_MAX_REQUESTS": "abc"}, 'MODELCACHE_WEB_MAX_REQUESTS: "abc" is not a whole number '
         "(example: MODELCACHE_WEB_MAX_REQUESTS=40)"),
        ([], {"MODELCACHE_COLLECTOR_PROBE": "maybe"}, 'MODELCACHE_COLLECTOR_PROBE: "maybe" is not a switch value '
         "(true or false, on or off) (example: MODELCACHE_COLLECTOR_PROBE=false)"),
        (["--config.file"], {}, "--config.file needs a value (example: --config.file=FILE)"),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_line_with_the_flag_and_a_good_value(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    assert one_error_line(cli(*args, "--path.cache", str(tmp_path), env=env)) == expected


def test_a_bad_value_in_the_file_names_the_file_the_key_and_a_good_value(tmp_path: Path) -> None:
    conf = tmp_path / "c.yml"
    conf.write_text("web:\n  max-requests: abc\n")
    line = one_error_line(cli("--config.file", str(conf), "--path.cache", str(tmp_path)))
    assert line == f'{conf}: web.max-requests: "abc" is not a whole number (example: web.max-requests: 40)'


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--path.cahce=/x"], "unknown flag --path.cahce; did you mean --path.cache?"),
        (["--path.cach", "/x"], "unknown flag --path.cach; did you mean --path.cache?"),  # no silent abbreviations
        (["--no-collector.diskstat"], "unknown flag --no-collector.diskstat; did you mean --no-collector.diskstats?"),
        (["--web.listen-adress=:1"], "unknown flag --web.listen-adress; did you mean --web.listen-address?"),
        (["--zzz"], "unknown flag --zzz; see 'modelcache-exporter --help'"),
        (["chek"], 'unexpected argument "chek"; did you mean the command check?'),
        (["--log.level=warn", "check"], 'unexpected argument "check"; a command comes first: '
         "modelcache-exporter check [<flags>]"),
    ],
)  # fmt: skip
def test_an_unknown_flag_is_answered_with_the_closest_one(tmp_path: Path, args: list[str], expected: str) -> None:
    assert one_error_line(cli(*args, "--path.state", str(tmp_path))) == expected


def test_a_port_in_use_is_one_line_naming_the_flag_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = cli(f"--web.listen-address=127.0.0.1:{port}", "--path.cache", str(tmp_path / "hub"),
                   "--path.state", str(tmp_path / "state"))  # fmt: skip
    line = one_error_line(proc)
    assert line == (
        f"--web.listen-address=127.0.0.1:{port}: port {port} is already in use (another exporter?); stop that "
        f"process or choose another port (example: --web.listen-address=127.0.0.1:{port + 1})"
    )


def test_an_address_of_another_machine_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = cli("--web.listen-address=192.0.2.1:10860", "--path.cache", str(tmp_path / "hub"),
               "--path.state", str(tmp_path / "state"))  # fmt: skip
    assert one_error_line(proc) == (
        "--web.listen-address=192.0.2.1:10860: 192.0.2.1 is not an address of this machine; use one of its "
        "addresses, or :10860 for all interfaces (example: --web.listen-address=:10860)"
    )


CHECKED = [  # the settings whose example is a value (not a placeholder such as FILE)
    f for f in settings() if f.metadata["kind"] != "paths" and helptext.example_value(f) != helptext.placeholder(f)
]


@pytest.mark.parametrize("f", CHECKED, ids=lambda f: f.metadata["flag"])
def test_every_example_is_a_good_value(tmp_path: Path, f: Any) -> None:
    """The example an error suggests is itself accepted (from the flag, or the variable for a switch)."""
    flag = helptext.example(f, f"--{f.metadata['flag']}")
    name, value = helptext.example(f, env_name(f.metadata["flag"])).split("=", 1)
    args = ["--path.cache", str(tmp_path), "--path.state", str(tmp_path / "s")]
    if f.metadata["kind"] == "bool":
        parse(args, environ={name: value})
    else:
        parse([*args, flag], environ={})


@pytest.mark.parametrize("seconds", [0.25, 1, 1.5, 5, 30, 60, 300, 600, 5400, 86400])
def test_durations_are_shown_as_people_type_them_and_read_back(seconds: float) -> None:
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    assert {0.25: "250ms", 600: "10m", 5400: "1h30m", 60: "1m"}.get(seconds, text) == text
