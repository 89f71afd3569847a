"""HTTP: `/` (landing page), `/healthz`, and the telemetry path; the metrics body comes from
`ScrapeCollector.render` (text format or OpenMetrics as negotiated, gzip at level 1 when accepted: a scrape
should cost the exporter next to nothing).

The serving layer is the standard library's socket server with our own HTTP/1.1 connection handling
(`connection`, `request`) under explicit bounds (`limits`): a total request-header budget (431), a deadline
for the whole request head (408), a cap on requests in progress (`--web.max-requests`, 503 at once) and on
connections (each one thread; 503 beyond), the kernel's full listen backlog, persistent connections, and
`HEAD` without a body. Why not a server library: waitress has no TLS; gunicorn and uvicorn run their own
worker processes or event loop and cannot be embedded in a process whose state (the index) is in memory;
cheroot (CherryPy's server) has a thread pool, TLS and keep-alive, but only per-read timeouts (a client
trickling a byte a second holds a worker for ever), a default backlog of 5, and its TLS adapter would
replace what we need per connection (the configuration re-read for each one, a plain request to the TLS
port answered 400, client SAN checks); wsgiref has none of the bounds and one request per connection.

With TLS (`--web.config.file`), each accepted connection is checked and its handshake done on the
connection's own thread, under a time limit, so a slow or hostile client never blocks the accept loop; the
SSLContext is read per connection, so a reloaded configuration (new certificates) applies to the next one.
A plain HTTP request to the TLS port is answered `400` with a one-line explanation, as Go servers do."""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.exposition import choose_encoder

from modelcache_exporter.base import quiet
from modelcache_exporter.base.log import kv
from modelcache_exporter.collectors.base import ScrapeCollector, ScrapeTimer
from modelcache_exporter.web.config import WebConfig, san_allowed
from modelcache_exporter.web.connection import Connection
from modelcache_exporter.web.limits import Limits, Slots, somaxconn

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
HANDSHAKE_TIMEOUT = 10.0
TLS_HANDSHAKE_RECORD = 0x16
PLAIN_ON_TLS = (
    b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
    b"Client sent an HTTP request to an HTTPS server.\n"
)
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n"
    b"Connection: close\r\n\r\nToo many connections\n"
)


class Switch:
    """A WSGI app whose target can be replaced while the server runs (a configuration reload)."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.app(environ, start_response)


class Server(socketserver.TCPServer):
    """Accepts connections and serves each on a thread of its own, at most `max_connections` at once."""

    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        web: Callable[[], WebConfig],
        limits: Limits,
        windows: quiet.Windows | None = None,
    ) -> None:
        """`windows`: where connections hold their quiet windows (default: this process's, `quiet.windows`)."""
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.request_queue_size = limits.backlog or somaxconn()
        self.app, self.web, self.limits = app, web, limits
        self.windows = windows or quiet.windows()
        self.requests = Slots(limits.max_requests)
        self.connections = Slots(limits.max_connections)
        super().__init__(address, socketserver.BaseRequestHandler)

    def set_max_requests(self, limit: int) -> None:
        """Change `--web.max-requests` (a reload); requests in progress finish."""
        self.requests.limit = limit

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection, or `503` and close when `max_connections` are open."""
        if not self.connections.take():
            log.debug("connection refused: too many connections", extra=kv(client=client_address[0]))
            with contextlib.suppress(OSError):
                request.settimeout(0.0)
                request.send(BUSY)
            self.shutdown_request(request)
            return
        threading.Thread(target=self._run, args=(request,), name="http-conn", daemon=True).start()

    def _run(self, request: socket.socket) -> None:
        try:
            self._serve(request)
        except Exception as exc:  # never a traceback on stderr: one line
            log.error("connection failed", extra=kv(err=f"{type(exc).__name__}: {exc}"))
        finally:
            self.connections.release()
            self.shutdown_request(request)

    def _serve(self, request: socket.socket) -> None:
        """Plain HTTP; with TLS, the handshake first (on this connection's thread)."""
        cfg = self.web()
        if cfg.context is None:
            Connection(request, self.app, self.limits, self.requests, "http", self.windows).serve()
            return
        conn = _handshake(request, cfg)
        if conn is None:
            return
        try:
            Connection(conn, self.app, self.limits, self.requests, "https", self.windows).serve()
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """An error while accepting: one debug line (socketserver would print a traceback)."""
        log.debug("accept failed", extra=kv(client=str(client_address)))


def _handshake(request: socket.socket, cfg: WebConfig) -> ssl.SSLSocket | None:
    """The TLS connection, or None (plain HTTP answered 400, failed handshake, client SAN not allowed)."""
    assert cfg.context is not None
    request.settimeout(HANDSHAKE_TIMEOUT)
    try:
        first = request.recv(1, socket.MSG_PEEK)
        if first and first[0] != TLS_HANDSHAKE_RECORD:
            _refuse_plain(request)
            return None
        conn = cfg.context.wrap_socket(request, server_side=True)
    except (ssl.SSLError, OSError) as exc:
        log.debug("TLS handshake failed", extra=kv(err=str(exc)))
        return None
    if cfg.allowed_sans and not san_allowed(conn.getpeercert(), cfg.allowed_sans):
        log.debug("client certificate has none of the allowed SANs")
        with contextlib.suppress(OSError):
            conn.close()
        return None
    return conn


def _refuse_plain(request: socket.socket) -> None:
    """Read the plain request's head (so closing does not reset the connection), answer 400."""
    request.settimeout(1.0)
    head = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = request.recv(4096)
            if not data:
                break
            head += data
        request.sendall(PLAIN_ON_TLS)


def make_app(scrape: ScrapeCollector, telemetry_path: str, landing: Callable[[], str], timer: ScrapeTimer) -> App:
    """The WSGI application with our routes."""

    def metrics(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        t0 = time.perf_counter()
        _encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
        gz = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        body = scrape.render(om=content_type.startswith("application/openmetrics-text"), gz=gz)
        headers = [("Content-Type", content_type)]
        if gz:
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        timer.observe(time.perf_counter() - t0)
        return [body]

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == telemetry_path:
            return metrics(environ, start_response)
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"OK\n"]
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [landing().encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found\n"]

    return app


def serve(
    host: str,
    port: int,
    app: App,
    web: Callable[[], WebConfig] | None = None,
    limits: Limits | None = None,
    windows: quiet.Windows | None = None,
) -> Server:
    """Bind (raises OSError when the address is taken); the caller runs `serve_forever`. `web` gives the web
    configuration in force (TLS) for each new connection; None serves plain HTTP. `windows`: see `Server`."""
    return Server((host, port), app, web or WebConfig, limits or Limits(), windows)
