"""Access control with `--web.config.file` (exporter-toolkit's format): real TLS on 127.0.0.1 with certificates
made by the tests, client certificates, basic auth with bcrypt, plain HTTP refused, versions and cipher suites,
certificates rotated without a restart, and every invalid file refused on one line with exit code 2."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import requests
from helpers import REPO_ROOT, Process, value, wait_for
from tlsfixture import Certs, issue, make_certs, server_sans

from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.config.parser import parse
from modelcache_exporter.web.config import WebConfig, load_web_config
from modelcache_exporter.web.guard import BasicAuth, Guard, WebState
from modelcache_exporter.web.server import serve

QUIET = ["--no-collector.filesystem", "--no-collector.diskstats", "--no-collector.probe"]
PASSWORD = "s3cret pass:word é"
GOOD = ("prometheus", PASSWORD.encode())  # sent as UTF-8, as Prometheus does (requests would use Latin-1 for str)


def hashed(password: str, cost: int = 4) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def web_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


class TLSProcess(Process):
    """The exporter as a real process behind TLS; ready once /healthz answers over https."""

    def __init__(self, args: list[str], certs: Certs, client: bool = True) -> None:
        super().__init__(args)
        self.https = f"https://127.0.0.1:{self.port}"
        self.verify = str(certs.ca)
        self.cert = certs.client.both if client else None

    def __enter__(self) -> TLSProcess:
        def up() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"exporter exited with {self.proc.returncode}: {self.proc.stderr.read()}")  # type: ignore
            try:
                r = requests.get(self.https + "/healthz", verify=self.verify, cert=self.cert, timeout=2)
                return r.status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, 20, what="the exporter to answer /healthz over TLS")
        return self

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("cert", self.cert)
        return requests.get(self.https + path, timeout=5, **kwargs)


def test_tls_with_client_certificates_and_basic_auth(certs: Certs, tmp_path: Path) -> None:
    conf = web_file(
        tmp_path / "web.yml",
        f"tls_server_config:\n  cert_file: {certs.server.cert}\n  key_file: {certs.server.key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {certs.ca}\n"
        f"basic_auth_users:\n  prometheus: '{hashed(PASSWORD)}'\n"
        "http_server_config:\n  headers: {X-Content-Type-Options: nosniff, X-Frame-Options: deny}\n",
    )
    (tmp_path / "hub").mkdir()
    args = ["--path.cache", str(tmp_path / "hub"), "--path.state", str(tmp_path / "s"), "--web.config.file", str(conf)]
    with TLSProcess([*args, *QUIET], certs) as proc:
        good = proc.get("/metrics", auth=GOOD)
        assert good.status_code == 200 and value(good.text, "modelcache_root_present", root="hub") == 1
        assert good.headers["X-Content-Type-Options"] == "nosniff" and good.headers["X-Frame-Options"] == "deny"
        assert value(good.text, "modelcache_config_last_reload_successful") == 1
        for auth in [("prometheus", "wrong"), ("nobody", PASSWORD.encode()), ("prometheus", PASSWORD), None]:
            denied = proc.get("/metrics", auth=auth)
            assert denied.status_code == 401, auth
            assert denied.headers["WWW-Authenticate"].startswith('Basic realm="modelcache-exporter"')
            assert "modelcache_" not in denied.text
        assert proc.get("/", auth=("prometheus", "wrong")).status_code == 401  # the landing page lists paths
        health = proc.get("/healthz")  # open to a health check: a constant body, no credentials
        assert health.status_code == 200 and health.text == "OK\n"

        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            proc.get("/healthz", cert=None)  # no client certificate: the handshake fails
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            proc.get("/healthz", cert=certs.stranger.both)  # a certificate another CA signed
        with pytest.raises(requests.exceptions.SSLError):
            proc.get("/healthz", verify=str(certs.other_ca))  # and the client checks the server too

        plain = requests.get(proc.url + "/metrics", auth=GOOD, timeout=5)
        assert plain.status_code == 400 and plain.text == "Client sent an HTTP request to an HTTPS server.\n"
        assert proc.get("/metrics", auth=GOOD).status_code == 200  # still serving
        code = proc.stop()
    assert code == 0


# -- the server in-process: versions, cipher suites, SANs, rotation --------------------------------------------
def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\n"]


@pytest.fixture
def running() -> Iterator[Any]:
    """Start `serve()` on 127.0.0.1 with a given web configuration source; stopped at the end."""
    servers = []

    def start(web: Any, app: Any = hello) -> int:
        server = serve("127.0.0.1", 0, app, web)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def handshake(
    port: int,
    ca: Path,
    low: ssl.TLSVersion | None = None,
    high: ssl.TLSVersion | None = None,
    client: tuple[str, str] | None = None,
) -> tuple[str, str, bytes]:
    """(TLS version, cipher, server certificate DER) of a fresh connection; raises on a failed handshake."""
    ctx = ssl.create_default_context(cafile=str(ca))
    if low:
        ctx.minimum_version = low
    if high:
        ctx.maximum_version = high
    if client:
        ctx.load_cert_chain(*client)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert tls.recv(1024).startswith(b"HTTP/1.0 200")
        return str(tls.version()), str(tls.cipher()[0]), tls.getpeercert(binary_form=True) or b""


def test_min_version_is_honoured(certs: Certs, tmp_path: Path, running: Any) -> None:
    conf = web_file(
        tmp_path / "w.yml",
        f"tls_server_config:\n  cert_file: {certs.server.cert}\n  key_file: {certs.server.key}\n  min_version: TLS13\n",
    )
    web = load_web_config(str(conf))
    port = running(lambda: web)
    assert handshake(port, certs.ca)[0] == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        handshake(port, certs.ca, high=ssl.TLSVersion.TLSv1_2)


def test_max_version_and_cipher_suites(certs: Certs, tmp_path: Path, running: Any) -> None:
    conf = web_file(
        tmp_path / "w.yml",
        f"tls_server_config:\n  cert_file: {certs.server.cert}\n"
        f"  key_file: {certs.server.key}\n  max_version: TLS12\n"
        "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n",
    )
    web = load_web_config(str(conf))
    port = running(lambda: web)
    version, cipher, _ = handshake(port, certs.ca)
    assert (version, cipher) == ("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384")
    with pytest.raises(ssl.SSLError):
        handshake(port, certs.ca, low=ssl.TLSVersion.TLSv1_3)


def test_client_allowed_sans(certs: Certs, tmp_path: Path, running: Any) -> None:
    base = (
        f"tls_server_config:\n  cert_file: {certs.server.cert}\n  key_file: {certs.server.key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {certs.ca}\n"
    )
    good = load_web_config(str(web_file(tmp_path / "a.yml", base + "  client_allowed_sans: [prometheus.test]\n")))
    bad = load_web_config(str(web_file(tmp_path / "b.yml", base + "  client_allowed_sans: [other.test]\n")))
    assert handshake(running(lambda: good), certs.ca, client=certs.client.both)
    with pytest.raises((ssl.SSLError, OSError, AssertionError)):
        handshake(running(lambda: bad), certs.ca, client=certs.client.both)


def test_rotated_certificates_apply_to_new_connections_without_a_restart(
    certs: Certs, tmp_path: Path, running: Any
) -> None:
    from tlsfixture import make_ca

    ca = make_ca(tmp_path / "ca.crt", "rotating CA")
    first = issue(tmp_path / "server.crt", ca, "first", server_sans(), server=True)
    conf = web_file(tmp_path / "web.yml", "tls_server_config: {cert_file: server.crt, key_file: server.key}\n")
    outcomes: list[bool] = []
    state = WebState(load_web_config(str(conf)), outcomes.append)
    port = running(state.current)
    before = handshake(port, tmp_path / "ca.crt")[2]
    time.sleep(0.05)
    second = issue(tmp_path / "next.crt", ca, "second", server_sans(), server=True)
    os.replace(second.key, first.key)  # cert-manager swaps both at once
    os.replace(second.cert, first.cert)
    after = wait_for(lambda: (d := handshake(port, tmp_path / "ca.crt")[2]) != before and d, 5, interval=0.2)
    assert after != before and outcomes == [True]
    (tmp_path / "server.key").write_text("not a key\n")  # a broken rotation: the certificate in force stays
    time.sleep(1.1)
    assert handshake(port, tmp_path / "ca.crt")[2] == after
    assert outcomes == [True, False]


# -- basic auth in detail -------------------------------------------------------------------------------------
def test_a_successful_bcrypt_check_is_remembered_failures_are_not() -> None:
    import base64

    web = WebConfig(users=(("prometheus", hashed(PASSWORD, 10)),))
    auth = BasicAuth()
    guard = Guard(hello, lambda: web, auth)

    def call(user: str, password: str, path: str = "/metrics") -> str:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        got: list[str] = []
        guard({"PATH_INFO": path, "HTTP_AUTHORIZATION": f"Basic {token}"}, lambda status, headers: got.append(status))
        return got[0]

    t0 = time.perf_counter()
    assert call("prometheus", PASSWORD) == "200 OK"
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(50):  # a 1 s scrape interval for 50 s
        assert call("prometheus", PASSWORD) == "200 OK"
    assert auth.verifications == 1 and time.perf_counter() - t0 < first
    assert call("prometheus", "wrong") == "401 Unauthorized"
    assert call("prometheus", "wrong") == "401 Unauthorized"
    assert call("ghost", "x") == "401 Unauthorized"  # an unknown user costs a bcrypt too (no timing oracle)
    assert auth.verifications == 4
    assert call("prometheus", "x" * 100) == "401 Unauthorized"  # beyond bcrypt's 72 bytes: refused, no error
    assert call("prometheus", PASSWORD, "/healthz") == "200 OK"
    rotated = WebConfig(users=(("prometheus", hashed("new password")),))
    guard.web = lambda: rotated
    assert call("prometheus", PASSWORD) == "401 Unauthorized"  # a new hash: the remembered success is void
    for header in ["Basic", "Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"no-colon").decode(), ""]:
        statuses: list[str] = []
        guard({"PATH_INFO": "/metrics", "HTTP_AUTHORIZATION": header}, lambda s, h, out=statuses: out.append(s))
        assert statuses == ["401 Unauthorized"], header


def test_rate_limit_answers_429_and_spares_healthz() -> None:
    web = WebConfig(rate_interval=60.0, rate_burst=2)
    guard = Guard(hello, lambda: web)
    codes = []
    for path in ["/metrics", "/metrics", "/metrics", "/healthz"]:
        guard({"PATH_INFO": path}, lambda status, headers: codes.append(status[:3]))
    assert codes == ["200", "200", "429", "200"]


# -- invalid files: one line, exit code 2 ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,needle",
    [
        ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  cert_flie: x\n", "unknown key 'cert_flie'"),
        ("tls_sever_config: {{}}\n", "unknown key 'tls_sever_config'"),
        ("tls_server_config:\n  key_file: {key}\n", "missing cert_file"),
        ("tls_server_config:\n  cert_file: {crt}\n  key_file: /nonexistent.key\n", "key_file '/nonexistent.key'"),
        ("tls_server_config:\n  cert_file: {crt}\n  key_file: {crt}\n", "cannot load the certificates"),
        ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  min_version: TLS14\n", "unknown TLS version"),
        (
            "tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  min_version: TLS13\n  max_version: TLS12\n",
            "min_version is above max_version",
        ),
        (
            "tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  client_auth_type: RequireAnyClientCert\n",
            "RequireAnyClientCert is not supported",
        ),
        (
            "tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  client_auth_type: Sometimes\n",
            "unknown client_auth_type",
        ),
        (
            "tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
            "  client_auth_type: RequireAndVerifyClientCert\n",
            "needs client_ca_file",
        ),
        (
            "tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  client_ca_file: {ca}\n",
            "does not verify client certificates",
        ),
        (
            "tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  curve_preferences: [X25519]\n",
            "curve_preferences is not supported",
        ),
        ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  cipher_suites: [RC4]\n", "unknown cipher suite"),
        ("basic_auth_users: {{prometheus: plaintext}}\n", "is not a bcrypt hash"),
        ("http_server_config:\n  headers: {{Server: nginx}}\n", "header 'Server' cannot be configured"),
        ("http_server_config:\n  headers: {{X-Frame-Options: allow}}\n", "invalid value 'allow' for X-Frame-Options"),
        ("rate_limit: {{interval: 1s, burst: 0}}\n", "burst must be at least 1"),
        ("- a list\n", "must be a mapping"),
        ("tls_server_config: [unclosed\n", "is not valid YAML"),
    ],
)
def test_invalid_web_configuration_is_a_config_error(certs: Certs, tmp_path: Path, text: str, needle: str) -> None:
    conf = web_file(tmp_path / "web.yml", text.format(crt=certs.server.cert, key=certs.server.key, ca=certs.ca))
    with pytest.raises(ConfigError) as err:
        parse(["--path.cache", str(tmp_path), "--web.config.file", str(conf)], environ={})
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_invalid_web_configuration_exits_2_with_one_line(tmp_path: Path) -> None:
    conf = web_file(tmp_path / "web.yml", "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  foo: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "modelcache_exporter", "--path.cache", str(tmp_path), "--web.config.file", str(conf)],
        capture_output=True, text=True, timeout=30, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("modelcache-exporter: error: ") and "unknown key 'foo'" in line


def test_relative_paths_and_inline_pem(certs: Certs, tmp_path: Path, running: Any) -> None:
    """Paths are relative to the web configuration file (as in exporter-toolkit); `cert`/`key` may be inline."""
    folder = certs.server.cert.parent
    rel = load_web_config(
        str(web_file(folder / "rel.yml", "tls_server_config: {cert_file: server.crt, key_file: server.key}\n"))
    )
    assert rel.tls and str(folder / "server.key") in rel.files
    inline = "tls_server_config:\n  cert: |\n{c}  key: |\n{k}".format(
        c="".join("    " + line for line in certs.server.cert.read_text().splitlines(True)),
        k="".join("    " + line for line in certs.server.key.read_text().splitlines(True)),
    )
    web = load_web_config(str(web_file(tmp_path / "inline.yml", inline)))
    assert handshake(running(lambda: web), certs.ca)[0] == "TLSv1.3"
    assert load_web_config(str(web_file(tmp_path / "none.yml", "{}\n"))).tls is False  # explicitly nothing
