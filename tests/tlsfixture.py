"""Certificates made by the tests: a CA, a server certificate for 127.0.0.1, client certificates (one from
another CA), written as PEM files. EC P-256 keys: generating them takes milliseconds."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pair:
    """A certificate and its key, as files."""

    cert: Path
    key: Path

    @property
    def both(self) -> tuple[str, str]:
        """(cert, key) as `requests` takes them."""
        return str(self.cert), str(self.key)


@dataclass(frozen=True)
class Certs:
    """Everything a TLS test needs."""

    ca: Path
    server: Pair
    client: Pair
    stranger: Pair  # a client certificate signed by another CA
    other_ca: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> Pair:
    key_path = path.with_suffix(".key")
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Pair(path, key_path)


def make_ca(path: Path, cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA, written to `path`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write(path, key, cert)
    return key, cert


def issue(
    path: Path,
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    cn: str,
    sans: list[x509.GeneralName],
    server: bool,
) -> Pair:
    """A leaf certificate signed by `ca`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(ca[0], hashes.SHA256())
    )
    return _write(path, key, cert)


def server_sans() -> list[x509.GeneralName]:
    return [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]


def make_certs(folder: Path) -> Certs:
    """CA, server certificate (127.0.0.1, localhost), client certificate (DNS prometheus.test), a stranger."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_ca(folder / "ca.crt", "modelcache test CA")
    other = make_ca(folder / "other-ca.crt", "some other CA")
    server = issue(folder / "server.crt", ca, "modelcache-exporter", server_sans(), server=True)
    client = issue(folder / "client.crt", ca, "prometheus", [x509.DNSName("prometheus.test")], server=False)
    stranger = issue(folder / "stranger.crt", other, "prometheus", [x509.DNSName("prometheus.test")], server=False)
    return Certs(folder / "ca.crt", server, client, stranger, folder / "other-ca.crt")
