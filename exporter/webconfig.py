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

Mapped to Python's `ssl`: client_auth_type NoClientCert and RequestClientCert (a certificate that is not
verified proves nothing, so none is asked for) -> no client certificate; VerifyClientCertIfGiven ->
CERT_OPTIONAL; RequireAndVerifyClientCert -> CERT_REQUIRED. Not supported, each a configuration error that
names the key: `RequireAnyClientCert` (Python cannot require a certificate without verifying it) and
`curve_preferences` (Python cannot set a curve list; OpenSSL's defaults apply). Unknown keys are errors too.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .settings import ConfigError, parse_duration

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
VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
#: client_auth_type -> verify mode (None: not supported)
CLIENT_AUTH = {
    "": ssl.CERT_NONE,
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
    "RequireAnyClientCert": None,
    "RequireClientCert": None,
}
#: Go's cipher suite names (crypto/tls CipherSuites()) -> OpenSSL names; None for TLS 1.3 suites, which Go and
#: OpenSSL both always enable and neither lets this list change.
CIPHERS: dict[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}
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


def _mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping")
    return {str(k): v for k, v in value.items()}


def _known(values: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; supported keys are {', '.join(keys)}")


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false")
    return value


def load_web_config(path: str) -> WebConfig:
    """Read and validate the file, and build its SSLContext; ConfigError (one line, with the fix) otherwise."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ConfigError(f"--web.config.file {path!r}: {exc.strerror}; give a readable YAML file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML; fix the syntax") from None
    top = _mapping(data, f"{path}: the top level")
    _known(top, TOP_KEYS, path)
    base = os.path.dirname(os.path.abspath(path))
    users = _users(top.get("basic_auth_users"), f"{path}: basic_auth_users")
    http = _mapping(top.get("http_server_config"), f"{path}: http_server_config")
    _known(http, HTTP_KEYS, f"{path}: http_server_config")
    http2 = _bool(http.get("http2", True), f"{path}: http_server_config.http2")
    headers = _headers(http.get("headers"), f"{path}: http_server_config.headers")
    rate = _mapping(top.get("rate_limit"), f"{path}: rate_limit")
    _known(rate, RATE_KEYS, f"{path}: rate_limit")
    interval, burst = _rate(rate, f"{path}: rate_limit")
    tls = _mapping(top.get("tls_server_config"), f"{path}: tls_server_config")
    _known(tls, TLS_KEYS, f"{path}: tls_server_config")
    files = [os.path.abspath(path)]
    context = _context(tls, base, f"{path}: tls_server_config", files) if tls else None
    return WebConfig(
        path=path,
        users=users,
        headers=headers,
        http2=http2,
        rate_interval=interval,
        rate_burst=burst,
        client_auth=str(tls.get("client_auth_type") or ("NoClientCert" if tls else "")),
        allowed_sans=_strings(tls.get("client_allowed_sans"), f"{path}: tls_server_config.client_allowed_sans"),
        min_version=str(tls.get("min_version") or ("TLS12" if tls else "")),
        files=tuple(files),
        context=context,
    )


def _users(value: object, where: str) -> tuple[tuple[str, str], ...]:
    users = _mapping(value, where)
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not BCRYPT.fullmatch(hashed):
            raise ConfigError(
                f"{where}: the password of {user!r} is not a bcrypt hash; "
                "make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"
            )
    return tuple(sorted((str(u), str(h)) for u, h in users.items()))


def _headers(value: object, where: str) -> tuple[tuple[str, str], ...]:
    headers = _mapping(value, where)
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


def _version(value: object, where: str, default: str) -> ssl.TLSVersion:
    name = default if value is None else str(value)
    if name not in VERSIONS:
        raise ConfigError(f"{where}: unknown TLS version {name!r}; use one of {', '.join(VERSIONS)}")
    return VERSIONS[name]


@contextlib.contextmanager
def _pem_file(text: str) -> Iterator[str]:
    """Inline PEM as a path OpenSSL can read: an anonymous memory file where there is one, else a private
    temporary file removed at once."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("modelcache-pem", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, text.encode())
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pem")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
            fh.write(text)
        yield path


def _source(tls: Mapping[str, Any], file_key: str, text_key: str, base: str, where: str) -> tuple[str, str]:
    """(path, inline text) of one PEM item; exactly one of the two forms may be given."""
    path, text = tls.get(file_key), tls.get(text_key)
    if path and text:
        raise ConfigError(f"{where}: give either {file_key} or {text_key}, not both")
    if (path is not None and not isinstance(path, str)) or (text is not None and not isinstance(text, str)):
        raise ConfigError(f"{where}: {file_key} and {text_key} must be strings")
    full = os.path.join(base, path) if path else ""
    if full and not os.access(full, os.R_OK):
        reason = "no such file" if not os.path.exists(full) else "not readable"
        raise ConfigError(f"{where}: {file_key} {full!r}: {reason}; give the path of a readable PEM file")
    return full, (text or "")


def _context(tls: Mapping[str, Any], base: str, where: str, files: list[str]) -> ssl.SSLContext:
    if tls.get("curve_preferences"):
        raise ConfigError(
            f"{where}: curve_preferences is not supported (Python's ssl cannot set a curve list); "
            "remove it to use OpenSSL's default curves"
        )
    cert_path, cert_text = _source(tls, "cert_file", "cert", base, where)
    key_path, key_text = _source(tls, "key_file", "key", base, where)
    ca_path, ca_text = _source(tls, "client_ca_file", "client_ca", base, where)
    if not (cert_path or cert_text):
        raise ConfigError(f"{where}: missing cert_file (the server certificate, PEM)")
    if not (key_path or key_text):
        raise ConfigError(f"{where}: missing key_file (the server's private key, PEM)")
    auth = str(tls.get("client_auth_type") or "")
    if auth not in CLIENT_AUTH:
        choices = ", ".join(k for k, v in CLIENT_AUTH.items() if k and v is not None)
        raise ConfigError(f"{where}: unknown client_auth_type {auth!r}; use one of {choices}")
    mode = CLIENT_AUTH[auth]
    if mode is None:
        raise ConfigError(
            f"{where}: client_auth_type {auth} is not supported (Python's ssl cannot require a client certificate "
            "without verifying it); use RequireAndVerifyClientCert with client_ca_file"
        )
    has_ca = bool(ca_path or ca_text)
    if has_ca and mode == ssl.CERT_NONE:
        raise ConfigError(
            f"{where}: client_ca_file is set but client_auth_type does not verify client certificates; "
            "use RequireAndVerifyClientCert"
        )
    if mode != ssl.CERT_NONE and not has_ca:
        raise ConfigError(
            f"{where}: client_auth_type {auth} needs client_ca_file (the CA that signs client certificates)"
        )
    sans = _strings(tls.get("client_allowed_sans"), f"{where}.client_allowed_sans")
    if sans and mode != ssl.CERT_REQUIRED:
        raise ConfigError(f"{where}: client_allowed_sans needs client_auth_type RequireAndVerifyClientCert")
    low = _version(tls.get("min_version"), f"{where}.min_version", "TLS12")
    high = _version(tls.get("max_version"), f"{where}.max_version", "TLS13")
    if low > high:
        raise ConfigError(f"{where}: min_version is above max_version")
    ciphers = _strings(tls.get("cipher_suites"), f"{where}.cipher_suites")
    unknown = [c for c in ciphers if c not in CIPHERS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown cipher suite {unknown[0]!r}; use Go's names (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"
        )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.minimum_version, ctx.maximum_version = low, high
        with contextlib.ExitStack() as stack:
            cert = cert_path or stack.enter_context(_pem_file(cert_text))
            key = key_path or stack.enter_context(_pem_file(key_text))
            ctx.load_cert_chain(cert, key, password=lambda: b"")  # an encrypted key fails instead of prompting
        if has_ca:
            if ca_path:
                ctx.load_verify_locations(cafile=ca_path)
            else:
                ctx.load_verify_locations(cadata=ca_text)
        ctx.verify_mode = mode
        legacy = [name for c in ciphers if (name := CIPHERS[c])]
        if legacy:
            ctx.set_ciphers(":".join(legacy))
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise ConfigError(
            f"{where}: cannot load the certificates ({reason}); check cert_file, key_file and "
            "client_ca_file (PEM, key unencrypted and matching the certificate)"
        ) from None
    if _bool(tls.get("prefer_server_cipher_suites", True), f"{where}.prefer_server_cipher_suites"):
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    files += [p for p in (cert_path, key_path, ca_path) if p]
    return ctx


def san_allowed(peer: Mapping[str, Any] | None, allowed: tuple[str, ...]) -> bool:
    """Whether a verified client certificate (`SSLSocket.getpeercert()`) has one of the allowed SANs (DNS names,
    IP addresses, e-mail addresses, URIs), compared exactly as exporter-toolkit does (IPs in canonical form)."""
    if not allowed:
        return True
    found: set[str] = set()
    for kind, value in (peer or {}).get("subjectAltName", ()):
        if kind == "IP Address":
            with contextlib.suppress(ValueError):
                value = str(ipaddress.ip_address(value.strip()))
        found.add(str(value))
    wanted = set()
    for item in allowed:
        try:
            wanted.add(str(ipaddress.ip_address(item)))
        except ValueError:
            wanted.add(item)
    return bool(found & wanted)
