"""One HTTP/1.1 connection: its requests in turn (persistent connections, as Prometheus reuses them), each
under the server's `Limits`; `HEAD` is answered with the headers a `GET` would have, and no body.

A connection ends with one debug log line (logfmt): who, how many requests, and why it closed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.quiet import Windows
from modelcache_exporter.web.limits import Limits, Slots
from modelcache_exporter.web.pacing import Pacer
from modelcache_exporter.web.request import Head, HeadError, environ, parse_head, read_head

log = logging.getLogger(__name__)
App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
DRAIN_BYTES = 262144
DRAIN_SECONDS = 1.0
OWN_HEADERS = frozenset({"content-length", "connection", "date", "transfer-encoding"})


class Connection:
    """Serves the requests of one accepted (and, with TLS, handshaken) socket, then logs one line; while it
    serves a request, and around its next one when that is predictable, background work keeps quiet
    (`windows`: see `pacing`)."""

    def __init__(
        self, sock: socket.socket, app: App, limits: Limits, requests: Slots, scheme: str, windows: Windows
    ) -> None:
        self.sock, self.app, self.limits, self.requests, self.scheme = sock, app, limits, requests, scheme
        self.pacer = Pacer(windows)
        self.buf = bytearray()
        self.served = 0
        self.client: tuple[str, int] = ("", 0)
        self.local: tuple[str, int] = ("", 0)
        with contextlib.suppress(OSError):
            self.client, self.local = sock.getpeername()[:2], sock.getsockname()[:2]

    def serve(self) -> None:
        """Requests until one asks to close, the client goes, or a limit is reached."""
        try:
            reason = self._loop()
        finally:
            self.pacer.close()
        log.debug(
            "connection closed",
            extra=kv(client=f"{self.client[0]}:{self.client[1]}", requests=self.served, reason=reason),
        )

    def _loop(self) -> str:
        until = time.monotonic() + self.limits.header_timeout  # the first request: from the connection's start
        first = True
        while True:
            if not self.buf:
                waited = self._wait(until)
                if waited:
                    return waited
            if not first:  # a kept-alive connection's next request: from its first byte
                until = time.monotonic() + self.limits.header_timeout
            if not self.requests.take():
                self._answer("503 Service Unavailable", b"Too many requests in progress (--web.max-requests).\n")
                return "too many requests in progress"
            self.pacer.begin(time.monotonic())
            try:
                reason = self._one(until)
            finally:
                self.requests.release()
                self.pacer.end(time.monotonic())
            if reason:
                return reason
            until, first = time.monotonic() + self.limits.idle_timeout, False

    def _wait(self, deadline: float) -> str:
        """Wait for a request's first bytes until `deadline`; "" when they came, else why the connection ends."""
        left = deadline - time.monotonic()
        if left <= 0:
            return "idle timeout"
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return "idle timeout"
        except OSError as exc:
            return f"read error: {exc.strerror or exc}"
        if not data:
            return "closed by the client"
        self.buf += data
        return ""

    def _one(self, deadline: float) -> str:
        """One request, its first bytes in `buf`, its head due by `deadline`; "" to keep the connection, else
        why it closes."""
        try:
            head = parse_head(read_head(self.sock, self.buf, deadline, self.limits.header_bytes))
        except HeadError as exc:
            if exc.status:
                self._answer(exc.status, (exc.reason.capitalize() + ".\n").encode())
            return exc.reason
        self.served += 1
        keep = _keep_alive(head)
        env = environ(head, self.local, self.client, self.scheme)
        try:
            status, headers, body = self._call(env)
        except Exception as exc:  # an application bug must not take the server down: one line, a 500
            log.error("request failed", extra=kv(path=env["PATH_INFO"], err=f"{type(exc).__name__}: {exc}"))
            self._answer("500 Internal Server Error", b"Internal Server Error\n")
            return "application error"
        keep = keep and "close" not in {v.lower() for k, v in headers if k.lower() == "connection"}
        try:
            self._send(status, headers, body, keep, head)
        except OSError as exc:
            return f"write error: {exc.strerror or exc}"
        return "" if keep else "connection: close"

    def _call(self, env: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Run the WSGI application: its status, headers and whole body."""
        response: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            response[:] = [status, list(headers)]
            return _no_write

        result = self.app(env, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return response[0], response[1], body

    def _send(self, status: str, headers: list[tuple[str, str]], body: bytes, keep: bool, head: Head) -> None:
        """The response, in the request's HTTP version (as Go answers); a HEAD gets the headers only."""
        lines = [f"{head.version} {status}", *(f"{k}: {v}" for k, v in headers if k.lower() not in OWN_HEADERS)]
        lines += [f"Date: {formatdate(usegmt=True)}", f"Content-Length: {len(body)}"]
        if not keep:
            lines.append("Connection: close")
        elif head.version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.sock.settimeout(self.limits.write_timeout)
        self.sock.sendall(data if head.method == "HEAD" else data + body)

    def _answer(self, status: str, body: bytes) -> None:
        """An error answer, then the connection closes (what the client still sends is read briefly first,
        so that closing does not reset the connection before the answer is read)."""
        fake = Head("GET", "/", "HTTP/1.1")
        with contextlib.suppress(OSError):
            self._send(status, [("Content-Type", "text/plain; charset=utf-8")], body, False, fake)
            self.sock.shutdown(socket.SHUT_WR)
            drain(self.sock)


def drain(sock: socket.socket) -> None:
    """Read and drop what the peer sends, a bounded amount for a bounded time."""
    end, got = time.monotonic() + DRAIN_SECONDS, 0
    with contextlib.suppress(OSError):
        while got < DRAIN_BYTES and (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                return
            got += len(data)


def _keep_alive(head: Head) -> bool:
    """Whether the connection stays open after this request (HTTP/1.1 unless `close`; 1.0 with `keep-alive`);
    never after a request with a body, which is not read."""
    if head.header("content-length").strip() not in ("", "0") or head.header("transfer-encoding"):
        return False
    tokens = head.tokens("connection")
    return "close" not in tokens if head.version == "HTTP/1.1" else "keep-alive" in tokens


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the WSGI write() callable is not supported; return the body")
