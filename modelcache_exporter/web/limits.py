"""The HTTP server's bounds, in Go net/http's and node_exporter's terms.

- `header_bytes`: the request line and headers together, at most 1 MiB (Go's `DefaultMaxHeaderBytes`);
  more is answered `431` and the connection closed. Nothing larger is ever buffered for a request.
- `header_timeout`: the whole request head must arrive within 10 s (Go's `ReadHeaderTimeout`), counted from
  the connection's start or, on a kept-alive connection, from the request's first byte. A client that
  trickles a byte a second is answered `408` and closed, not held for ever by a per-read timeout.
- `idle_timeout`: a kept-alive connection waiting for its next request is closed after 30 s.
- `max_requests` (`--web.max-requests`, 40 as in node_exporter, 0 = no limit): requests in progress, from
  their first byte to the end of their response; one more is answered `503` at once, never queued.
- `max_connections`: open connections, each served by its own thread (256); one more is answered `503` and
  closed: threads and their buffers are bounded whatever clients do.
- `backlog`: the listen queue is the kernel's `somaxconn` (as Go listens), so a burst of scrapes waits in
  the kernel instead of being dropped and retried a second later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

SOMAXCONN = "/proc/sys/net/core/somaxconn"
DEFAULT_BACKLOG = 4096


def somaxconn(path: str = SOMAXCONN) -> int:
    """The kernel's cap on a listen backlog; 4096 (Linux's default since 5.4) when it cannot be read."""
    try:
        with open(path, encoding="ascii") as f:
            value = int(f.read().strip())
    except (OSError, ValueError):
        return DEFAULT_BACKLOG
    return value if value > 0 else DEFAULT_BACKLOG


@dataclass(frozen=True)
class Limits:
    """The bounds of one server (see the module docstring)."""

    max_requests: int = 40
    max_connections: int = 256
    header_bytes: int = 1 << 20
    header_timeout: float = 10.0
    idle_timeout: float = 30.0
    write_timeout: float = 30.0
    backlog: int = 0  # 0: somaxconn


class Slots:
    """A count of things in use under a limit that may change at any time (0 = no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take a slot if one is free; never waits."""
        with self._lock:
            if self.limit > 0 and self.used >= self.limit:
                return False
            self.used += 1
            return True

    def release(self) -> None:
        """Give a slot back."""
        with self._lock:
            self.used -= 1
