"""The web configuration file (`--web.config.file`) in Prometheus exporter-toolkit's format: TLS, client
certificates, basic auth users with bcrypt hashes, extra response headers, a rate limit.

    tls_server_config:
      cert_file: server.crt            # or `cert:` inline PEM; relative paths are relative to this file
      key_file: server.key             # or `key:` inline PEM (unencrypted)
      client_auth_type: RequireAndVerifyClientCert
      client_ca_file: ca.crt           # or `client_ca:` inline PEM
      client_allowed_sans: [prometheus.example.org]
      min_version: TLS12               # TLS10, TLS11, TLS12 (default), TLS13
      max_version: TLS13
      cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]    # Go names, TLS 1.2 and below
      prefer_server_cipher_suites: true
    http_server_config:
      http2: true                      # accepted; HTTP/1.1 is what is served (clients negotiate it)
      headers: {X-Content-Type-Options: nosniff}
    basic_auth_users:
      prometheus: $2b$10$...           # a bcrypt hash: README, "--web.config.file" (a Python one-liner)
    rate_limit: {interval: 100ms, burst: 20}

Unknown keys are errors. The `tls_server_config` section becomes the server's ssl.SSLContext in `webtls`,
which says how its keys map to Python's `ssl` and which are not supported.

Security fails closed:
- An empty file (nothing, or only comments) is a configuration error, not "no security": while
  `--web.config.file` names a file, it must say what it wants (`{}` is a file that explicitly asks for
  nothing, plain HTTP without auth).
- A reload (SIGHUP, or the file changed) may not turn off a protection the configuration in force has unless
  the new file turns it off explicitly, so an emptied or half-written file never downgrades the server:
  TLS only with `tls_server_config: {}`, basic auth only with `basic_auth_users: {}`, client certificate
  verification only with `client_auth_type` written out (e.g. `NoClientCert`), the client SAN allow-list only
  with `client_allowed_sans: []`. A `tls_server_config:` or `basic_auth_users:` left with no value (what
  an interrupted write leaves) is not explicit. Otherwise the reload is refused (`check_reload`), counted as
  failed, and the configuration in force stays. A restart applies any valid file as it is.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelcache_exporter.base.values import ConfigError, read_yaml
from modelcache_exporter.web.tls import san_allowed, server_context
from modelcache_exporter.web.values import (
    as_bool,
    as_mapping,
    as_strings,
    check_headers,
    check_known,
    check_rate,
    check_users,
)

__all__ = ["WebConfig", "WebConfigError", "check_reload", "load_web_config", "san_allowed"]

TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users", "rate_limit")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "cert",
    "key",
    "client_auth_type",
    "client_ca_file",
    "client_ca",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
)
HTTP_KEYS = ("http2", "headers")
RATE_KEYS = ("interval", "burst")
REQUIRE_CLIENT_CERT = "RequireAndVerifyClientCert"
#: The protections a reload may not turn off silently: (name, what it is, how a file turns it off explicitly).
PROTECTIONS = (
    ("tls", "TLS", "`tls_server_config: {}`"),
    ("basic_auth", "basic auth", "`basic_auth_users: {}`"),
    ("client_certs", "client certificate verification", "`client_auth_type: NoClientCert`"),
    ("client_sans", "the client SAN allow-list", "`client_allowed_sans: []`"),
)


class WebConfigError(ConfigError):
    """The web configuration file is invalid, or a reload of it would turn off a protection in force."""


@dataclass(frozen=True)
class WebConfig:
    """What the web configuration file says; `context` is the server SSLContext built from it (None: plain
    HTTP). `files` are the files it was built from (the file itself, certificates, keys), for change checks."""

    path: str = ""
    users: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    http2: bool = True
    rate_interval: float = 0.0
    rate_burst: int = 0
    client_auth: str = ""
    allowed_sans: tuple[str, ...] = ()
    min_version: str = ""
    files: tuple[str, ...] = ()
    turned_off: frozenset[str] = frozenset()  # the PROTECTIONS the file turns off explicitly
    context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    @property
    def tls(self) -> bool:
        """Whether connections must be TLS."""
        return self.context is not None

    def protections(self) -> frozenset[str]:
        """The PROTECTIONS this configuration has."""
        on = {
            "tls": self.tls,
            "basic_auth": bool(self.users),
            "client_certs": self.client_auth == REQUIRE_CLIENT_CERT,
            "client_sans": bool(self.allowed_sans),
        }
        return frozenset(name for name, yes in on.items() if yes)


def load_web_config(path: str, in_force: WebConfig | None = None) -> WebConfig:
    """Read and validate the file, and build its SSLContext; WebConfigError (one line, with the fix) otherwise.
    With `in_force` (a reload), also refuse a file that would turn off one of its protections silently."""
    try:
        new = _load(path)
        if in_force is not None:
            check_reload(in_force, new)
    except WebConfigError:
        raise
    except ConfigError as exc:
        raise WebConfigError(str(exc)) from None
    return new


def check_reload(in_force: WebConfig, new: WebConfig) -> None:
    """WebConfigError when `new` lacks a protection `in_force` has and does not turn it off explicitly."""
    dropped = in_force.protections() - new.protections() - new.turned_off
    silent = [(what, fix) for name, what, fix in PROTECTIONS if name in dropped]
    if not silent:
        return
    whats = " and ".join(what for what, _ in silent)
    if not new.path:
        raise WebConfigError(
            f"--web.config.file is no longer set, which would turn off {whats} of {in_force.path}; "
            "set it again, or restart the exporter to serve without it"
        )
    fixes = " and ".join(fix for _, fix in silent)
    raise WebConfigError(
        f"{new.path}: refusing a reload that would turn off {whats} (an emptied or half-written file?); "
        f"to turn it off on purpose write {fixes} in the file, or restart the exporter"
    )


def _load(path: str) -> WebConfig:
    data = read_yaml(path, "--web.config.file")
    if data is None:
        raise ConfigError(
            f"{path} is empty, and an empty web configuration file is not a 'no security' one; write its settings "
            "(tls_server_config, basic_auth_users, ...) or `{}` for none, or stop naming it with --web.config.file"
        )
    top = as_mapping(data, f"{path}: the top level")
    check_known(top, TOP_KEYS, path)
    base = os.path.dirname(os.path.abspath(path))
    users = check_users(top.get("basic_auth_users"), f"{path}: basic_auth_users")
    http = as_mapping(top.get("http_server_config"), f"{path}: http_server_config")
    check_known(http, HTTP_KEYS, f"{path}: http_server_config")
    http2 = as_bool(http.get("http2", True), f"{path}: http_server_config.http2")
    headers = check_headers(http.get("headers"), f"{path}: http_server_config.headers")
    rate = as_mapping(top.get("rate_limit"), f"{path}: rate_limit")
    check_known(rate, RATE_KEYS, f"{path}: rate_limit")
    interval, burst = check_rate(rate, f"{path}: rate_limit")
    tls = as_mapping(top.get("tls_server_config"), f"{path}: tls_server_config")
    check_known(tls, TLS_KEYS, f"{path}: tls_server_config")
    files = [os.path.abspath(path)]
    context = server_context(tls, base, f"{path}: tls_server_config", files) if tls else None
    return WebConfig(
        path=path,
        users=users,
        headers=headers,
        http2=http2,
        rate_interval=interval,
        rate_burst=burst,
        client_auth=str(tls.get("client_auth_type") or ("NoClientCert" if tls else "")),
        allowed_sans=as_strings(tls.get("client_allowed_sans"), f"{path}: tls_server_config.client_allowed_sans"),
        min_version=str(tls.get("min_version") or ("TLS12" if tls else "")),
        files=tuple(files),
        turned_off=_turned_off(top, tls),
        context=context,
    )


def _turned_off(top: Mapping[str, Any], tls: Mapping[str, Any]) -> frozenset[str]:
    """The PROTECTIONS the file turns off explicitly: an empty mapping written out, a key given a value."""

    def written_empty(value: object) -> bool:
        return isinstance(value, dict) and not value

    off = set()
    if written_empty(top.get("tls_server_config")):
        off |= {"tls", "client_certs", "client_sans"}
    if written_empty(top.get("basic_auth_users")):
        off.add("basic_auth")
    if tls.get("client_auth_type") not in (None, REQUIRE_CLIENT_CERT):
        off |= {"client_certs", "client_sans"}
    if tls.get("client_allowed_sans") == []:
        off.add("client_sans")
    return frozenset(off)
