"""HTTP: `/` (landing page), `/healthz`, and the telemetry path. A small threading WSGI server, as in
prometheus_client; the metrics body comes from `ScrapeCollector.render` (text format or OpenMetrics as
negotiated, gzip at level 1 when accepted: a scrape should cost the exporter next to nothing)."""

from __future__ import annotations

import html
import logging
import socket
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import choose_encoder

from .collectors.base import ScrapeCollector, ScrapeTimer

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
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


def serve(host: str, port: int, app: App) -> WSGIServer:
    """Bind (raises OSError when the address is taken); the caller runs `serve_forever`."""
    cls = _V6Server if ":" in host else _Server
    return make_server(host, port, app, server_class=cls, handler_class=_QuietHandler)


def landing_page(title: str, telemetry_path: str, rows: list[dict[str, str]]) -> str:
    """A minimal page: links and one row per cache root."""
    head = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {}))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p><a href='{html.escape(telemetry_path)}'>Metrics</a> · "
        "<a href='/healthz'>Health</a></p><h2>Cache roots</h2>"
        f"<table border='1' cellpadding='4'><tr>{head}</tr>{body}</table></body></html>"
    )
