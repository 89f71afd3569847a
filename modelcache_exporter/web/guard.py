"""Request-time access control from the web configuration, and that configuration's live reload.

- Basic auth: bcrypt is deliberately slow (~100 ms and more per check), so a successful verification is
  remembered, keyed by a SHA-256 of (user, stored hash, password): a 1 s scrape interval costs one bcrypt
  per credential change, and a changed hash (a reload) never matches an old entry. Failures are not
  remembered; checks run one at a time (as exporter-toolkit does), so wrong passwords can never take more
  than one core. An unknown user is checked against a dummy hash of the highest cost configured: the time
  taken does not tell which users exist.
- `/healthz` is open (no auth, no rate limit): its body is a constant, and a container health check must
  reach it without credentials. Everything else, `/` and the metrics, is protected.
- The file is re-read when it or a certificate, key or CA file it names changes (checked at most once a
  second, when a connection arrives), as exporter-toolkit re-reads it per connection: rotated certificates
  are picked up without a restart. A file that no longer loads keeps the configuration in force (logged).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import bcrypt

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.web.config import WebConfig, load_web_config

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
OPEN_PATHS = frozenset({"/healthz"})
REALM = 'Basic realm="modelcache-exporter", charset="UTF-8"'
#: bcrypt (cost 10) of a password nobody has: what an unknown user's password is checked against, with its
#: cost replaced by the highest configured (checkpw runs the cost the hash names; the digest never matches).
DUMMY_HASH = b"$2b$10$KkETsjqv7RREc9uUtopdqeK3Ah9FKdQWJ0p1KyOIWf4la8DEiqKlO"
CACHE_SIZE = 256
CHECK_EVERY = 1.0


def parse_basic(header: str | None) -> tuple[str, bytes] | None:
    """`Basic base64(user:password)` -> (user, password bytes); None when absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip().encode("latin-1"), validate=True)
        user, sep, password = raw.partition(b":")
        return (user.decode("utf-8"), password) if sep else None
    except (binascii.Error, UnicodeError):
        return None


def dummy_hash(users: Mapping[str, str]) -> bytes:
    """`DUMMY_HASH` at the highest cost among the users' hashes (`$2y$12$...` -> 12), so an unknown user costs
    what a configured one does."""
    costs = [int(parts[2]) for h in users.values() if len(parts := h.split("$")) > 3 and parts[2].isdigit()]
    return b"$2b$%02d$" % max(costs, default=10) + DUMMY_HASH[7:]


class BasicAuth:
    """Verifies credentials against bcrypt hashes, remembering successes."""

    def __init__(self) -> None:
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._bcrypt_lock = threading.Lock()
        self.verifications = 0  # bcrypt runs (for tests and curiosity)

    def check(self, header: str | None, users: Mapping[str, str]) -> bool:
        """True when the header carries a configured user and that user's password."""
        creds = parse_basic(header)
        if creds is None:
            return False
        user, password = creds
        stored = users.get(user)
        hashed = stored.encode() if stored is not None else dummy_hash(users)
        key = hashlib.sha256(b"\0".join([user.encode(), hashed, password])).digest()
        with self._cache_lock:
            if key in self._ok:
                self._ok.move_to_end(key)
                return True
        with self._bcrypt_lock:
            self.verifications += 1
            try:
                ok = bcrypt.checkpw(password, hashed)
            except ValueError:  # longer than bcrypt's 72 bytes, a NUL byte: never a configured password
                ok = False
        if not ok or stored is None:
            return False
        with self._cache_lock:
            self._ok[key] = None
            while len(self._ok) > CACHE_SIZE:
                self._ok.popitem(last=False)
        return True


class RateLimit:
    """A token bucket: `burst` requests at once, then one per `interval` seconds."""

    def __init__(self, interval: float, burst: int) -> None:
        self.interval, self.burst = interval, burst
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Take a token if there is one."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) / self.interval)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class Guard:
    """WSGI middleware: rate limit, extra headers, basic auth, from the web configuration in force."""

    def __init__(self, app: App, web: Callable[[], WebConfig], auth: BasicAuth | None = None) -> None:
        self.app, self.web = app, web
        self.auth = auth or BasicAuth()
        self._limit: RateLimit | None = None

    def _limiter(self, cfg: WebConfig) -> RateLimit | None:
        if cfg.rate_interval <= 0:
            return None
        limit = self._limit
        if limit is None or (limit.interval, limit.burst) != (cfg.rate_interval, cfg.rate_burst):
            limit = self._limit = RateLimit(cfg.rate_interval, cfg.rate_burst)
        return limit

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        cfg = self.web()
        extra = list(cfg.headers)
        open_path = (environ.get("PATH_INFO") or "/") in OPEN_PATHS
        limiter = None if open_path else self._limiter(cfg)
        if limiter is not None and not limiter.allow():
            start_response("429 Too Many Requests", [("Content-Type", "text/plain; charset=utf-8"), *extra])
            return [b"Too Many Requests\n"]
        if cfg.users and not open_path and not self.auth.check(environ.get("HTTP_AUTHORIZATION"), dict(cfg.users)):
            headers = [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", REALM), *extra]
            start_response("401 Unauthorized", headers)
            return [b"Unauthorized\n"]
        if not extra:
            return self.app(environ, start_response)

        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, *extra], exc_info)

        return self.app(environ, with_headers)


def _signature(files: Iterable[str]) -> tuple[object, ...]:
    out: list[object] = []
    for path in files:
        try:
            st = os.stat(path)
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


class WebState:
    """The web configuration in force. `current()` re-reads the file when one of its files changed."""

    def __init__(self, web: WebConfig, on_reload: Callable[[bool], None] | None = None) -> None:
        self.web = web
        self.on_reload = on_reload
        self._lock = threading.Lock()
        self._sig = _signature(web.files)
        self._next = time.monotonic() + CHECK_EVERY

    def set(self, web: WebConfig) -> None:
        """Put a freshly loaded configuration in force (a SIGHUP reload)."""
        with self._lock:
            self.web, self._sig = web, _signature(web.files)

    def current(self) -> WebConfig:
        """The configuration in force, re-read first if a file changed (at most one check a second)."""
        web = self.web
        if not web.path or time.monotonic() < self._next:
            return web
        with self._lock:
            if time.monotonic() < self._next:
                return self.web
            self._next = time.monotonic() + CHECK_EVERY
            sig = _signature(self.web.files)
            if sig == self._sig:
                return self.web
            self._sig = sig  # a broken state is reported once, and retried when a file changes again
            try:
                new = load_web_config(self.web.path, self.web)
            except ConfigError as exc:
                log.error("web configuration changed but does not load; keeping the one in force: %s", exc)
                if self.on_reload is not None:
                    self.on_reload(False)
                return self.web
            self.web, self._sig = new, _signature(new.files)
            log.info("web configuration reloaded", extra=kv(path=new.path, tls=new.tls, users=len(new.users)))
            if self.on_reload is not None:
                self.on_reload(True)
            return self.web
