"""The TLS side of the web configuration file: its `tls_server_config` section built into the server's
ssl.SSLContext, and the check of a verified client certificate against `client_allowed_sans`.

Mapped to Python's `ssl`: client_auth_type NoClientCert and RequestClientCert (a certificate that is not
verified proves nothing, so none is asked for) -> no client certificate; VerifyClientCertIfGiven ->
CERT_OPTIONAL; RequireAndVerifyClientCert -> CERT_REQUIRED. Not supported, each a configuration error that
names the key: `RequireAnyClientCert` (Python cannot require a certificate without verifying it) and
`curve_preferences` (Python cannot set a curve list; OpenSSL's defaults apply).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.web.tlsnames import CIPHERS, CLIENT_AUTH, VERSIONS
from modelcache_exporter.web.values import as_bool, as_strings


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


def server_context(tls: Mapping[str, Any], base: str, where: str, files: list[str]) -> ssl.SSLContext:
    """The server SSLContext of a `tls_server_config` section; relative paths are resolved against `base`, and
    the files read are appended to `files`."""
    if tls.get("curve_preferences"):
        raise ConfigError(
            f"{where}: curve_preferences is not supported (Python's ssl cannot set a curve list); "
            "remove it to use OpenSSL's default curves"
        )
    cert = _source(tls, "cert_file", "cert", base, where)
    key = _source(tls, "key_file", "key", base, where)
    ca = _source(tls, "client_ca_file", "client_ca", base, where)
    if not any(cert):
        raise ConfigError(f"{where}: missing cert_file (the server certificate, PEM)")
    if not any(key):
        raise ConfigError(f"{where}: missing key_file (the server's private key, PEM)")
    mode = _verify_mode(tls, where, has_ca=any(ca))
    versions = _versions(tls, where)
    ciphers = _openssl_ciphers(tls, where)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        _configure(ctx, versions, (cert, key, ca), mode, ciphers)
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise ConfigError(
            f"{where}: cannot load the certificates ({reason}); check cert_file, key_file and "
            "client_ca_file (PEM, key unencrypted and matching the certificate)"
        ) from None
    if as_bool(tls.get("prefer_server_cipher_suites", True), f"{where}.prefer_server_cipher_suites"):
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    files += [path for path, _text in (cert, key, ca) if path]
    return ctx


def _verify_mode(tls: Mapping[str, Any], where: str, has_ca: bool) -> ssl.VerifyMode:
    """How client certificates are verified (`client_auth_type`), checked against the client CA and
    `client_allowed_sans`."""
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
    if has_ca and mode == ssl.CERT_NONE:
        raise ConfigError(
            f"{where}: client_ca_file is set but client_auth_type does not verify client certificates; "
            "use RequireAndVerifyClientCert"
        )
    if mode != ssl.CERT_NONE and not has_ca:
        raise ConfigError(
            f"{where}: client_auth_type {auth} needs client_ca_file (the CA that signs client certificates)"
        )
    sans = as_strings(tls.get("client_allowed_sans"), f"{where}.client_allowed_sans")
    if sans and mode != ssl.CERT_REQUIRED:
        raise ConfigError(f"{where}: client_allowed_sans needs client_auth_type RequireAndVerifyClientCert")
    return mode


def _versions(tls: Mapping[str, Any], where: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    """The lowest and highest TLS versions offered (`min_version`, `max_version`; TLS 1.2 to 1.3 by default)."""
    low = _version(tls.get("min_version"), f"{where}.min_version", "TLS12")
    high = _version(tls.get("max_version"), f"{where}.max_version", "TLS13")
    if low > high:
        raise ConfigError(f"{where}: min_version is above max_version")
    return low, high


def _openssl_ciphers(tls: Mapping[str, Any], where: str) -> list[str]:
    """The OpenSSL names of the TLS 1.2 suites of `cipher_suites` (Go's names; TLS 1.3 suites have none)."""
    ciphers = as_strings(tls.get("cipher_suites"), f"{where}.cipher_suites")
    unknown = [c for c in ciphers if c not in CIPHERS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown cipher suite {unknown[0]!r}; use Go's names (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"
        )
    return [name for c in ciphers if (name := CIPHERS[c])]


def _configure(
    ctx: ssl.SSLContext,
    versions: tuple[ssl.TLSVersion, ssl.TLSVersion],
    pems: tuple[tuple[str, str], tuple[str, str], tuple[str, str]],
    mode: ssl.VerifyMode,
    ciphers: list[str],
) -> None:
    """Load the server certificate and key and the client CA, each a (path, inline text) pair, and set the
    versions, the verify mode and the cipher list (an empty list keeps OpenSSL's)."""
    (cert_path, cert_text), (key_path, key_text), (ca_path, ca_text) = pems
    ctx.minimum_version, ctx.maximum_version = versions
    with contextlib.ExitStack() as stack:
        cert = cert_path or stack.enter_context(_pem_file(cert_text))
        key = key_path or stack.enter_context(_pem_file(key_text))
        ctx.load_cert_chain(cert, key, password=lambda: b"")  # an encrypted key fails instead of prompting
    if ca_path:
        ctx.load_verify_locations(cafile=ca_path)
    elif ca_text:
        ctx.load_verify_locations(cadata=ca_text)
    ctx.verify_mode = mode
    if ciphers:
        ctx.set_ciphers(":".join(ciphers))


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
