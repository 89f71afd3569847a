"""HTTP: `/` (landing page), `/healthz`, and the telemetry path. A small threading WSGI server, as in
prometheus_client; the metrics body comes from `ScrapeCollector.render` (text format or OpenMetrics as
negotiated, gzip at level 1 when accepted: a scrape should cost the exporter next to nothing).

With TLS (`--web.config.file`), each accepted connection is checked and its handshake done on the
connection's own thread, under a time limit, so a slow or hostile client never blocks the accept loop; the
SSLContext is read per connection, so a reloaded configuration (new certificates) applies to the next one.
A plain HTTP request to the TLS port is answered `400` with a one-line explanation, as Go servers do.
Every connection has a read timeout: an idle client cannot hold a thread for ever."""

from __future__ import annotations

import contextlib
import html
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import choose_encoder

from modelcache_exporter.base.names import label_text
from modelcache_exporter.collectors.base import ScrapeCollector, ScrapeTimer
from modelcache_exporter.web.config import WebConfig, san_allowed

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
HANDSHAKE_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0
TLS_HANDSHAKE_RECORD = 0x16
PLAIN_ON_TLS = (
    b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
    b"Client sent an HTTP request to an HTTPS server.\n"
)


class Switch:
    """A WSGI app whose target can be replaced while the server runs (a configuration reload)."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.app(environ, start_response)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    web: Callable[[], WebConfig] = WebConfig

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Plain HTTP as wsgiref does it; with TLS, the handshake first (on this connection's thread)."""
        cfg = self.web()
        if cfg.context is None:
            super().finish_request(request, client_address)
            return
        conn = _handshake(request, cfg)
        if conn is None:
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            with contextlib.suppress(OSError):
                conn.close()


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
        log.debug("TLS handshake failed: %s", exc)
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


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT  # per read and write: an idle connection does not hold its thread for ever

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)


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


def serve(host: str, port: int, app: App, web: Callable[[], WebConfig] | None = None) -> WSGIServer:
    """Bind (raises OSError when the address is taken); the caller runs `serve_forever`. `web` gives the web
    configuration in force (TLS) for each new connection; None serves plain HTTP."""
    cls = _V6Server if ":" in host else _Server
    server = make_server(host, port, app, server_class=cls, handler_class=_QuietHandler)
    if web is not None:
        server.web = web
    return server


def landing_page(title: str, telemetry_path: str, rows: list[dict[str, str]]) -> str:
    """A minimal page: links and one row per cache root."""
    head = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {}))
    cells = ("".join(f"<td>{html.escape(label_text(v))}</td>" for v in r.values()) for r in rows)
    body = "".join(f"<tr>{c}</tr>" for c in cells)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p><a href='{html.escape(telemetry_path)}'>Metrics</a> · "
        "<a href='/healthz'>Health</a></p><h2>Cache roots</h2>"
        f"<table border='1' cellpadding='4'><tr>{head}</tr>{body}</table></body></html>"
    )
