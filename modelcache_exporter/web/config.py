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
      prometheus: $2y$10$...           # htpasswd -nBC 10 "" | tr -d ':\\n'
    rate_limit: {interval: 100ms, burst: 20}

Unknown keys are errors. The `tls_server_config` section becomes the server's ssl.SSLContext in `webtls`,
which says how its keys map to Python's `ssl` and which are not supported.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelcache_exporter.base.values import ConfigError, parse_duration, read_yaml
from modelcache_exporter.web.tls import san_allowed, server_context
from modelcache_exporter.web.values import as_bool, as_mapping, as_strings, check_known

__all__ = ["WebConfig", "load_web_config", "san_allowed"]

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
#: Headers the toolkit lets a user add, with their allowed values (empty: any value).
HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
BCRYPT = re.compile(r"\$2[abxy]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}")


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
    context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    @property
    def tls(self) -> bool:
        """Whether connections must be TLS."""
        return self.context is not None


def load_web_config(path: str) -> WebConfig:
    """Read and validate the file, and build its SSLContext; ConfigError (one line, with the fix) otherwise."""
    data = read_yaml(path, "--web.config.file")
    top = as_mapping(data, f"{path}: the top level")
    check_known(top, TOP_KEYS, path)
    base = os.path.dirname(os.path.abspath(path))
    users = _users(top.get("basic_auth_users"), f"{path}: basic_auth_users")
    http = as_mapping(top.get("http_server_config"), f"{path}: http_server_config")
    check_known(http, HTTP_KEYS, f"{path}: http_server_config")
    http2 = as_bool(http.get("http2", True), f"{path}: http_server_config.http2")
    headers = _headers(http.get("headers"), f"{path}: http_server_config.headers")
    rate = as_mapping(top.get("rate_limit"), f"{path}: rate_limit")
    check_known(rate, RATE_KEYS, f"{path}: rate_limit")
    interval, burst = _rate(rate, f"{path}: rate_limit")
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
        context=context,
    )


def _users(value: object, where: str) -> tuple[tuple[str, str], ...]:
    users = as_mapping(value, where)
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not BCRYPT.fullmatch(hashed):
            raise ConfigError(
                f"{where}: the password of {user!r} is not a bcrypt hash; "
                "make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"
            )
    return tuple(sorted((str(u), str(h)) for u, h in users.items()))


def _headers(value: object, where: str) -> tuple[tuple[str, str], ...]:
    headers = as_mapping(value, where)
    for name, text in headers.items():
        if name not in HEADERS:
            raise ConfigError(f"{where}: header {name!r} cannot be configured; use one of {', '.join(HEADERS)}")
        allowed = HEADERS[name]
        if not isinstance(text, str) or (allowed and text not in allowed) or "\n" in text or "\r" in text:
            fix = f"one of {', '.join(allowed)}" if allowed else "a one-line string"
            raise ConfigError(f"{where}: invalid value {text!r} for {name}; use {fix}")
    return tuple(sorted((k, str(v)) for k, v in headers.items() if v))


def _rate(rate: Mapping[str, Any], where: str) -> tuple[float, int]:
    try:
        interval = parse_duration(str(rate.get("interval", 0)))
    except ValueError as exc:
        raise ConfigError(f"{where}.interval: {exc}") from None
    burst = rate.get("burst", 0)
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 0:
        raise ConfigError(f"{where}.burst must be a whole number of requests (e.g. 10)")
    if interval > 0 and burst < 1:
        raise ConfigError(f"{where}.burst must be at least 1 when an interval is set")
    return interval, burst
