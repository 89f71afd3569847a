"""Reloads of `--web.config.file` fail closed: the exporter as a real process behind real TLS and basic auth,
its web configuration file emptied or half-written (as an editor or an interrupted `kubectl cp` leaves it),
then reloaded by SIGHUP or by the file-change check. TLS and auth stay, the reload counts as failed on one
log line; a valid change applies; TLS and auth go only when the file turns them off explicitly; an empty
file at start is a configuration error (exit 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import requests
from helpers import REPO_ROOT, Process, value, wait_for
from tlsfixture import Certs, make_certs

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
PASSWORD = "s3cret"
GOOD = ("prometheus", PASSWORD)
RELOADED = "modelcache_config_last_reload_successful"
CHECK_EVERY = 1.1  # just over the file-change check's period (web/guard.py)


def hashed(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def tls_section(certs: Certs) -> str:
    return f"tls_server_config:\n  cert_file: {certs.server.cert}\n  key_file: {certs.server.key}\n"


def auth_section(password: str = PASSWORD) -> str:
    return f"basic_auth_users:\n  prometheus: '{hashed(password)}'\n"


class Exporter(Process):
    """The exporter behind TLS, its log lines read as they come (to wait for one without a request)."""

    def __init__(self, tmp: Path, conf: Path, certs: Certs) -> None:
        (tmp / "hub").mkdir()
        super().__init__(["--path.cache", str(tmp / "hub"), "--path.state", str(tmp / "s"), *QUIET,
                          "--web.config.file", str(conf)])  # fmt: skip
        self.https, self.ca = f"https://127.0.0.1:{self.port}", str(certs.ca)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def __enter__(self) -> Exporter:
        def up() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"exporter exited with {self.proc.returncode}: {''.join(self.lines)}")
            try:
                return self.get("/healthz").status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, 20, what="the exporter to answer /healthz over TLS")
        return self

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.https + path, verify=self.ca, timeout=5, **kwargs)

    def reloaded(self) -> float | None:
        """modelcache_config_last_reload_successful, over TLS with the credentials."""
        return value(self.get("/metrics", auth=GOOD).text, RELOADED)

    def logged(self, needle: str) -> list[str]:
        return [line for line in self.lines if needle in line]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(15)
        self.reader.join(5)
        self.stderr = "".join(self.lines)
        return self.proc.returncode


def assert_tls_and_auth(proc: Exporter) -> None:
    assert proc.get("/metrics", auth=GOOD).status_code == 200
    assert proc.get("/metrics").status_code == 401
    plain = requests.get(proc.url + "/metrics", timeout=5)
    assert plain.status_code == 400 and "HTTPS" in plain.text


def test_an_emptied_web_config_file_keeps_tls_and_auth(certs: Certs, tmp_path: Path) -> None:
    conf = tmp_path / "web.yml"
    conf.write_text(tls_section(certs) + auth_section())
    with Exporter(tmp_path, conf, certs) as proc:
        assert_tls_and_auth(proc)
        time.sleep(CHECK_EVERY)
        conf.write_text("")  # `: > web.yml`
        assert proc.get("/metrics", auth=GOOD).status_code == 200  # this connection runs the change check
        assert proc.reloaded() == 0
        assert_tls_and_auth(proc)
        (line,) = proc.logged(" is empty")
        assert "web configuration changed but does not load" in line and "--web.config.file" in line

        proc.proc.send_signal(signal.SIGHUP)  # and a SIGHUP with the file still empty
        wait_for(lambda: proc.logged("configuration reload failed"), 10, what="the SIGHUP reload's line")
        time.sleep(CHECK_EVERY)
        assert_tls_and_auth(proc)
        assert proc.reloaded() == 0
        assert len(proc.logged(" is empty")) == 2  # one line per reload, none repeated by the change check
        assert "tls=False" not in proc.stderr and proc.stop() == 0


def test_a_half_written_web_config_file_keeps_auth(certs: Certs, tmp_path: Path) -> None:
    conf = tmp_path / "web.yml"
    conf.write_text(tls_section(certs) + auth_section())
    with Exporter(tmp_path, conf, certs) as proc:
        assert_tls_and_auth(proc)
        conf.write_text(tls_section(certs))  # the TLS section written, basic_auth_users not yet
        proc.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: proc.logged("configuration reload failed"), 10, what="the SIGHUP reload's line")
        assert_tls_and_auth(proc)
        assert proc.reloaded() == 0
        time.sleep(CHECK_EVERY)
        assert_tls_and_auth(proc)
        (line,) = proc.logged("refusing a reload")
        assert "would turn off basic auth" in line and "basic_auth_users: {}" in line

        conf.write_text(tls_section(certs) + "basic_auth_users:\n")  # cut after the key: not explicit either

        def checked() -> bool:  # connections run the change check (once a second), which refuses
            assert proc.get("/metrics", auth=GOOD).status_code == 200
            return len(proc.logged("refusing a reload")) == 2

        wait_for(checked, 5, interval=0.2, what="the change check's line")
        assert_tls_and_auth(proc)
        assert proc.logged("web configuration changed but does not load")
        assert proc.reloaded() == 0


def test_a_valid_change_applies_and_tls_and_auth_go_only_when_turned_off_explicitly(
    certs: Certs, tmp_path: Path
) -> None:
    conf = tmp_path / "web.yml"
    conf.write_text(tls_section(certs) + auth_section())
    with Exporter(tmp_path, conf, certs) as proc:
        conf.write_text(tls_section(certs) + auth_section("rotated"))  # a new password
        proc.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: proc.get("/metrics", auth=("prometheus", "rotated")).status_code == 200, 10)
        assert proc.get("/metrics", auth=GOOD).status_code == 401
        assert value(proc.get("/metrics", auth=("prometheus", "rotated")).text, RELOADED) == 1

        conf.write_text(tls_section(certs) + "basic_auth_users: {}\n")  # auth off on purpose, TLS kept
        proc.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: proc.get("/metrics").status_code == 200, 10, what="auth turned off")
        assert value(proc.get("/metrics").text, RELOADED) == 1

        conf.write_text("tls_server_config: {}\nbasic_auth_users: {}\n")  # and TLS
        proc.proc.send_signal(signal.SIGHUP)
        plain = proc.url + "/metrics"
        wait_for(lambda: _status(plain) == 200, 10, what="plain HTTP")
        assert value(requests.get(plain, timeout=5).text, RELOADED) == 1
        assert proc.logged("refusing a reload") == [] and proc.stop() == 0
    assert proc.stderr.count("configuration reloaded") == 3


def _status(url: str) -> int:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return 0


@pytest.mark.parametrize("text", ["", "\n# nothing yet\n"])
def test_an_empty_web_config_file_at_start_exits_2_with_one_line(tmp_path: Path, text: str) -> None:
    conf = tmp_path / "web.yml"
    conf.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "modelcache_exporter", "--path.cache", str(tmp_path), "--web.config.file", str(conf)],
        capture_output=True, text=True, timeout=30, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("modelcache-exporter: error: ") and "is empty" in line


def test_client_certificate_checks_go_only_when_turned_off_explicitly(certs: Certs, tmp_path: Path) -> None:
    from modelcache_exporter.base.values import ConfigError
    from modelcache_exporter.web.config import WebConfig, check_reload, load_web_config

    def load(name: str, text: str) -> WebConfig:
        (tmp_path / name).write_text(tls_section(certs) + text)
        return load_web_config(str(tmp_path / name))

    verify = f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {certs.ca}\n"
    in_force = load("a.yml", verify + "  client_allowed_sans: [prometheus.test]\n")
    for text, needle in [
        ("", "turn off client certificate verification and the client SAN allow-list"),
        (verify, "write `client_allowed_sans: []`"),
    ]:
        with pytest.raises(ConfigError, match="refusing a reload") as err:
            check_reload(in_force, load("b.yml", text))
        assert needle in str(err.value) and "\n" not in str(err.value)
    check_reload(in_force, load("c.yml", verify + "  client_allowed_sans: []\n"))
    check_reload(in_force, load("d.yml", "  client_auth_type: NoClientCert\n"))
    with pytest.raises(ConfigError, match=r"--web\.config\.file is no longer set, which would turn off TLS"):
        check_reload(in_force, WebConfig())  # the flag dropped from the configuration file: a restart does that
    check_reload(WebConfig(), load("e.yml", ""))  # nothing in force: nothing to lose
