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
from modelcache_exporter.web.values import as_bool, as_strings

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
    sans = as_strings(tls.get("client_allowed_sans"), f"{where}.client_allowed_sans")
    if sans and mode != ssl.CERT_REQUIRED:
        raise ConfigError(f"{where}: client_allowed_sans needs client_auth_type RequireAndVerifyClientCert")
    low = _version(tls.get("min_version"), f"{where}.min_version", "TLS12")
    high = _version(tls.get("max_version"), f"{where}.max_version", "TLS13")
    if low > high:
        raise ConfigError(f"{where}: min_version is above max_version")
    ciphers = as_strings(tls.get("cipher_suites"), f"{where}.cipher_suites")
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
    if as_bool(tls.get("prefer_server_cipher_suites", True), f"{where}.prefer_server_cipher_suites"):
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
