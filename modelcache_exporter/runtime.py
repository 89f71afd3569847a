"""The running exporter behind its HTTP server, and configuration reloads (SIGHUP).

A reload re-reads flags, environment and files. An invalid configuration is logged on one line and the
one in force stays (`modelcache_config_last_reload_successful 0`); so is one that would turn off TLS, basic
auth or client certificate checks in force without saying so in the web configuration file (fail closed; see
`web/config.py` for the explicit way). A valid one takes effect at once, while the HTTP server keeps serving:
- the web configuration (TLS certificates, client CA, users, headers, rate limit): for new connections;
- `--web.max-requests`: for the next request;
- log level and format;
- any other setting: the running `Exporter` is stopped (the ledger closed, log positions saved) and a new
  one started from the new configuration; scrapes meanwhile read the last state of the old one, then the
  new one's (its index starts over with a cold scan, its counters from zero: a counter reset, as after a
  restart). An unchanged configuration restarts nothing.
- `--web.listen-address` is the exception: the socket stays where it is, and a line says a restart applies it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import fields, replace

from modelcache_exporter.app import Exporter
from modelcache_exporter.base import log as logsetup
from modelcache_exporter.base.log import kv
from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.collectors.reload import ReloadCollector, ReloadStatus
from modelcache_exporter.config.flags import Config
from modelcache_exporter.web.config import WebConfigError, check_reload
from modelcache_exporter.web.guard import BasicAuth, Guard, WebState
from modelcache_exporter.web.limits import Limits
from modelcache_exporter.web.server import App, Server, Switch, make_app, serve

log = logging.getLogger(__name__)
#: Settings applied without restarting the exporter's threads.
LIVE = frozenset(
    {"web", "web_config_file", "log_level", "log_format", "web_listen_address", "web_telemetry_path"}
    | {"web_max_requests"}
)


class Runtime:
    """One exporter serving HTTP; `reload()` swaps in the configuration `read()` returns."""

    def __init__(self, cfg: Config, read: Callable[[], Config]) -> None:
        self.cfg, self.read = cfg, read
        self.status = ReloadStatus()
        self.web = WebState(cfg.web, self.status.record)
        self.auth = BasicAuth()
        self.exporter = self._build(cfg)
        self.switch = Switch(self._app(self.exporter, cfg))
        self.server: Server | None = None
        self._lock = threading.Lock()

    def _build(self, cfg: Config) -> Exporter:
        return Exporter(cfg, extra_sources=[ReloadCollector(self.status)])

    def _app(self, exporter: Exporter, cfg: Config) -> App:
        inner = make_app(exporter.scrape, cfg.web_telemetry_path, exporter.landing, exporter.timer)
        return Guard(inner, self.web.current, self.auth)

    def listen(self) -> Server:
        """Bind the listen address (OSError when it is taken)."""
        host, port = self.cfg.listen
        limits = Limits(max_requests=self.cfg.web_max_requests)
        self.server = serve(host, port, self.switch, self.web.current, limits)
        return self.server

    def start(self) -> None:
        """Start the exporter's threads and the HTTP server's."""
        assert self.server is not None
        self.exporter.start()
        threading.Thread(target=self.server.serve_forever, name="http", daemon=True).start()

    def stop(self) -> None:
        """Stop serving, then the exporter (the ledger is closed and log positions saved)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        with self._lock:
            self.exporter.stop()

    def reload(self) -> bool:
        """Re-read the configuration and apply it; False (and the old configuration kept) when it is invalid."""
        with self._lock:
            new = self._read()
            if new is None:
                return False
            old = self.cfg
            if new.web_listen_address != old.web_listen_address:
                log.warning(
                    "--web.listen-address changed; a restart applies it",
                    extra=kv(listening=old.web_listen_address, configured=new.web_listen_address),
                )
                new = replace(new, web_listen_address=old.web_listen_address)
            if (new.log_level, new.log_format) != (old.log_level, old.log_format):
                logsetup.setup(new.log_level, new.log_format)
            changed = [
                f.metadata.get("flag", f.name)
                for f in fields(Config)
                if f.name not in LIVE and getattr(old, f.name) != getattr(new, f.name)
            ]
            self.web.set(new.web)
            if self.server is not None:
                self.server.set_max_requests(new.web_max_requests)
            if changed:
                self.exporter, started = self._swap(new)
                if not started:
                    self.switch.app = self._app(self.exporter, old)
                    self.status.record(False)
                    return False
            self.cfg = new
            self.switch.app = self._app(self.exporter, new)
            self.status.record(True)
            log.info(
                "configuration reloaded",
                extra=kv(restarted=",".join(changed) or "nothing", tls=new.web.tls, users=len(new.web.users)),
            )
            return True

    def _read(self) -> Config | None:
        """The new configuration; None (logged on one line, counted) when it is invalid or would turn off a
        protection of the web configuration in force."""
        try:
            new = self.read()
            check_reload(self.web.web, new.web)
        except ConfigError as exc:
            log.error("configuration reload failed; keeping the configuration in force: %s", exc)
            if isinstance(exc, WebConfigError):
                # this state of the web configuration file is reported: not once more by the change check
                self.web.set(self.web.web)
            self.status.record(False)
            return None
        return new

    def _swap(self, new: Config) -> tuple[Exporter, bool]:
        """Stop the running exporter and start one on `new`; should that fail, one on the old configuration
        again. Returns the exporter now running and whether it runs `new`."""
        self.exporter.stop()
        try:
            exporter = self._build(new)
            exporter.start()
            return exporter, True
        except Exception:
            log.exception("the new configuration did not start; starting the previous one again")
            exporter = self._build(self.cfg)
            exporter.start()
            return exporter, False
