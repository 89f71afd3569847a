"""Reading one HTTP/1.x request head off a socket, under a byte budget and a deadline, and parsing it.

A head ends at its blank line; the connection closing before that line is not a request (nothing is
served). Bytes after the head (a pipelined request) are kept for the next read.
"""

from __future__ import annotations

import io
import socket
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import unquote

CHUNK = 65536


class HeadError(Exception):
    """The head cannot be served: `status` is the answer (empty: close without one), `reason` the log word."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class Head:
    """A parsed request head."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str:
        """A header's value (repeated headers joined by commas); empty when absent."""
        return ", ".join(v for k, v in self.headers if k.lower() == name)

    def tokens(self, name: str) -> set[str]:
        """A comma-separated header's tokens, lower-cased (`Connection: close, TE` -> {close, te})."""
        return {t.strip().lower() for t in self.header(name).split(",") if t.strip()}


def _end(buf: bytearray, start: int) -> int:
    """The offset just after the blank line ending the head (LF or CRLF), or -1."""
    at = max(0, start - 3)
    crlf, lf = buf.find(b"\r\n\r\n", at), buf.find(b"\n\n", at)
    ends = [i + 4 for i in [crlf] if i >= 0] + [i + 2 for i in [lf] if i >= 0]
    return min(ends) if ends else -1


def read_head(sock: socket.socket, buf: bytearray, deadline: float, budget: int) -> bytes:
    """Read until the head's blank line; returns the head and leaves what follows in `buf`. Raises
    HeadError: 431 beyond `budget` bytes, 408 past `deadline`, "" (no answer) on EOF or a socket error."""
    scanned = 0
    while True:
        end = _end(buf, scanned)
        if end >= 0:
            if end > budget:
                raise HeadError("431 Request Header Fields Too Large", "headers too large")
            head = bytes(buf[:end])
            del buf[:end]
            return head
        if len(buf) > budget:
            raise HeadError("431 Request Header Fields Too Large", "headers too large")
        scanned = len(buf)
        left = deadline - time.monotonic()
        if left <= 0:
            raise HeadError("408 Request Timeout", "request headers not received in time")
        sock.settimeout(left)
        try:
            data = sock.recv(CHUNK)
        except TimeoutError:
            raise HeadError("408 Request Timeout", "request headers not received in time") from None
        except OSError as exc:
            raise HeadError("", f"read error: {exc.strerror or exc}") from None
        if not data:
            raise HeadError("", "closed before the end of the request headers")
        buf += data


def parse_head(raw: bytes) -> Head:
    """The request line and headers; HeadError 400 (or 505) when malformed."""
    lines = raw.decode("latin-1").split("\n")
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    while lines and not lines[0]:  # RFC 9112 2.2: empty lines before the request line are ignored
        lines.pop(0)
    parts = lines[0].split(" ") if lines else []
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise HeadError("400 Bad Request", "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        bad = version.startswith("HTTP/")
        raise HeadError("505 HTTP Version Not Supported" if bad else "400 Bad Request", "unsupported version")
    head = Head(method, target, version)
    for line in lines[1:]:
        if not line:
            break
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or line[0] in " \t":
            raise HeadError("400 Bad Request", "malformed header")
        head.headers.append((name, value.strip(" \t")))
    return head


def environ(head: Head, server: tuple[str, int], client: tuple[str, int], scheme: str) -> dict[str, object]:
    """The WSGI environ (PEP 3333) of a request without a body."""
    path, _, query = head.target.partition("?")
    env: dict[str, object] = {
        "REQUEST_METHOD": head.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, "latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": head.version,
        "REMOTE_ADDR": str(client[0]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, _value in head.headers:
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
        env[key] = head.header(name.lower())
    return env
