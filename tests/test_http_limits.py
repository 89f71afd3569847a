"""The HTTP server under hostile or heavy clients (issue 17): a header budget, a deadline for the whole request
head, bounded requests and connections, the kernel's listen backlog, persistent connections and HEAD, one
log line per connection, and basic auth that does not tell which users exist. Real sockets on 127.0.0.1,
the exporter as a real process (its memory and threads read with psutil)."""

from __future__ import annotations

import base64
import contextlib
import select
import signal
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import psutil
import pytest
from helpers import Process, wait_for

from modelcache_exporter.web.guard import BasicAuth

QUIET = ["--no-collector.diskstats", "--no-collector.probe", "--no-collector.filesystem"]
HEAD_DEADLINE = 10.0  # the server's header_timeout


@pytest.fixture
def exporter(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Process]:
    extra = getattr(request, "param", [])
    (tmp_path / "hub").mkdir()
    with Process(["--path.cache", str(tmp_path / "hub"), "--path.state", str(tmp_path / "s"), *QUIET, *extra]) as p:
        yield p


def connect(proc: Process, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proc.port), timeout=timeout)


def read_response(sock: socket.socket, head: bool = False) -> tuple[bytes, dict[str, str], bytes]:
    """One response's status line, headers and Content-Length body (none for a HEAD), read off `sock`."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(1)
        assert data, f"connection closed mid-response: {buf!r}"
        buf += data
    lines = buf.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = b""
    while not head and len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(int(headers["content-length"]) - len(body))
    return lines[0].encode(), headers, body


def status_or_none(sock: socket.socket, timeout: float) -> bytes | None:
    """The status line the server sent, None when it sent nothing in time or reset the connection first."""
    sock.settimeout(timeout)
    try:
        return sock.recv(4096).split(b"\r\n")[0] or None
    except OSError:
        return None


# -- row 3: a total header budget, bounded requests ----------------------------------------------------------
def test_huge_headers_are_refused_431_and_do_not_grow_memory(exporter: Process) -> None:
    """20 clients each sending 98 headers of 65 KB (6.4 MB, each header under the per-line limit): 431 after
    1 MiB; the exporter's memory does not follow what is sent."""
    pid = psutil.Process(exporter.proc.pid)
    base = pid.memory_info().rss
    socks = [connect(exporter) for _ in range(20)]
    pad = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 65000) for i in range(98))

    def send(s: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the server answers and closes
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + pad)  # and no blank line: trickling

    senders = [threading.Thread(target=send, args=(s,), daemon=True) for s in socks]
    for t in senders:
        t.start()
    peak, end = base, time.monotonic() + 4
    while time.monotonic() < end:
        peak = max(peak, pid.memory_info().rss)
        time.sleep(0.05)
    statuses = [status_or_none(s, 2) for s in socks]
    for s in socks:
        s.close()
    assert statuses == [b"HTTP/1.1 431 Request Header Fields Too Large"] * 20
    assert peak - base < 40 * 2**20, f"RSS grew {(peak - base) / 2**20:.0f} MiB"


@pytest.mark.parametrize("exporter", [["--web.max-requests=2"]], indirect=True)
def test_requests_beyond_max_requests_are_answered_503_at_once(exporter: Process) -> None:
    slow = [connect(exporter) for _ in range(3)]
    for s in slow:  # three requests in progress, their heads not finished
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        time.sleep(0.2)
    assert status_or_none(slow[2], 2) == b"HTTP/1.1 503 Service Unavailable"
    for s in slow[:2]:
        s.sendall(b"Host: x\r\n\r\n")
        assert read_response(s)[0] == b"HTTP/1.1 200 OK"
        s.close()
    slow[2].close()


# -- row 4: the listen backlog ---------------------------------------------------------------------------------
def test_listen_backlog_holds_a_burst_while_the_server_is_busy(exporter: Process) -> None:
    """With the exporter stopped (SIGSTOP), 50 connections complete their handshake in the kernel's queue; with
    a backlog of 5 all but 6 would wait for SYN retransmissions (ListenOverflows)."""
    exporter.proc.send_signal(signal.SIGSTOP)
    socks: list[socket.socket] = []
    try:
        for _ in range(50):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", exporter.port))
            socks.append(s)
        time.sleep(0.5)
        _, writable, _ = select.select([], socks, [], 0)
        done = [s for s in writable if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0]
    finally:
        exporter.proc.send_signal(signal.SIGCONT)
    assert len(done) == 50
    for s in socks:
        s.setblocking(True)
        s.settimeout(5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert [read_response(s)[2] for s in socks] == [b"OK\n"] * 50
    for s in socks:
        s.close()


# -- row 5: a deadline for the whole head, a cap on connections, EOF is not a request ---------------------------
def test_trickling_clients_are_closed_at_the_header_deadline(exporter: Process) -> None:
    """20 clients sending a header byte a second: answered 408 and closed after 10 s, their threads gone."""
    pid = psutil.Process(exporter.proc.pid)
    base = min(pid.num_threads() for _ in range(5) if time.sleep(0.1) is None)  # background threads settle
    socks = [connect(exporter) for _ in range(20)]
    for s in socks:
        s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
    wait_for(lambda: pid.num_threads() >= base + 20, 5, what="a thread per connection")
    start = time.monotonic()
    while time.monotonic() - start < HEAD_DEADLINE + 2:
        for s in socks:
            with contextlib.suppress(OSError):
                s.send(b"a")
        time.sleep(1)
    statuses = [status_or_none(s, 1) for s in socks]
    assert statuses == [b"HTTP/1.1 408 Request Timeout"] * 20
    wait_for(lambda: pid.num_threads() <= base + 1, 5, what="the connections' threads to end")
    for s in socks:
        s.close()


def test_connections_beyond_the_cap_are_refused(tmp_path: Path) -> None:
    from modelcache_exporter.web.limits import Limits
    from modelcache_exporter.web.server import serve

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello\n"]

    server = serve("127.0.0.1", 0, app, limits=Limits(max_connections=5))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = int(server.server_address[1])
    try:
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
            assert status_or_none(extra, 2) == b"HTTP/1.1 503 Service Unavailable"
        held[0].close()
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as again:
            again.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(again)[2] == b"hello\n"
        for s in held[1:]:
            s.close()
    finally:
        server.shutdown()
        server.server_close()


def test_a_request_cut_before_its_blank_line_is_not_served(exporter: Process) -> None:
    with connect(exporter) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        s.shutdown(socket.SHUT_WR)
        assert s.recv(4096) == b""


# -- row 6: one logfmt line per connection -----------------------------------------------------------------------
@pytest.mark.parametrize("exporter", [["--log.level=debug"]], indirect=True)
def test_idle_connections_time_out_with_one_logfmt_line_each(exporter: Process) -> None:
    socks = [connect(exporter) for _ in range(10)]
    time.sleep(HEAD_DEADLINE + 1)
    assert all(s.recv(1) == b"" for s in socks)  # closed by the server
    for s in socks:
        s.close()
    exporter.stop()
    lines = exporter.stderr.splitlines()
    assert "Traceback" not in exporter.stderr
    assert all(line.startswith("ts=") for line in lines), [x for x in lines if not x.startswith("ts=")][:3]
    idle = [line for line in lines if 'msg="connection closed"' in line and 'reason="idle timeout"' in line]
    assert len(idle) == 10


# -- row 12: HEAD, persistent connections -------------------------------------------------------------------------
def test_head_has_no_body_and_a_connection_serves_several_requests(exporter: Process) -> None:
    with connect(exporter) as s:
        s.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = read_response(s, head=True)  # a HEAD has no body: the next bytes are the next answer
        assert status == b"HTTP/1.1 200 OK" and int(headers["content-length"]) > 0
        status, headers, body = read_response(s)
        assert status == b"HTTP/1.1 200 OK" and body == b"OK\n"
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = read_response(s)
        assert b"modelcache_root_present" in body
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_response(s)[2] == b"OK\n"
        assert s.recv(1) == b""  # closed as asked


# -- row 13: no user enumeration by timing ------------------------------------------------------------------------
def test_an_unknown_user_costs_what_a_wrong_password_does() -> None:
    users = {"prometheus": bcrypt.hashpw(b"right", bcrypt.gensalt(11)).decode()}
    auth = BasicAuth()

    def timed(user: str) -> float:
        header = "Basic " + base64.b64encode(f"{user}:wrong".encode()).decode()
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            assert not auth.check(header, users)
            runs.append(time.perf_counter() - t0)
        return statistics.median(runs)

    wrong, unknown = timed("prometheus"), timed("nobody")
    assert abs(wrong - unknown) / max(wrong, unknown) < 0.3, (wrong, unknown)
