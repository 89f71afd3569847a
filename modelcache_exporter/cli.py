"""Command line: `modelcache-exporter [flags]` serves metrics until SIGTERM or SIGINT (SIGHUP reloads);
`modelcache-exporter check [flags]` prints one report and exits (see check/)."""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Sequence

from modelcache_exporter import __version__
from modelcache_exporter.base import log as logsetup
from modelcache_exporter.base.log import kv
from modelcache_exporter.base.values import ConfigError, parse_listen_address, quoted
from modelcache_exporter.config.flags import Config
from modelcache_exporter.config.parser import fail, parse
from modelcache_exporter.memory import freeze_startup, limit_arenas

SIGNAL_POLL = 0.5
#: How long a busy thread keeps the GIL before another (a scrape) may run (Python's default: 5 ms).
GIL_SWITCH_SECONDS = 0.001
log = logging.getLogger(logsetup.PACKAGE)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of `python -m exporter`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["check"]:
        from modelcache_exporter.check import main as check_main

        return check_main(args[1:])
    try:
        cfg = parse(args)
    except ConfigError as exc:
        return fail(exc)
    logsetup.setup(cfg.log_level, cfg.log_format)
    limit_arenas()  # before any thread starts
    return run(cfg, args)


def listen_error(address: str, exc: OSError) -> str:
    """Why `--web.listen-address` could not be bound, and what to do about it, as one line."""
    host, port = parse_listen_address(address)
    head = address.strip().rsplit(":", 1)[0]  # the host as given: "", "127.0.0.1", "[::1]", "localhost"
    other = f"{head}:{port + 1 if 0 < port < 65535 else 10860}"
    if isinstance(exc, socket.gaierror):
        why = f"host {quoted(head)} is not known; use an IP address or a name this machine resolves"
        other = f"127.0.0.1:{port}"
    elif exc.errno == errno.EADDRINUSE:
        why = f"port {port} is already in use (another exporter?); stop that process or choose another port"
    elif exc.errno == errno.EACCES:
        why = f"not allowed to listen on port {port}; choose a port above 1023"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine; use one of its addresses, or :{port} for all interfaces"
        other = f":{port}"
    else:
        why = f"cannot listen: {exc.strerror or exc}; choose another address"
    return f"--web.listen-address={address}: {why} (example: --web.listen-address={other})"


def run(cfg: Config, argv: Sequence[str] = ()) -> int:
    """Serve until SIGTERM or SIGINT (exit code 0); SIGHUP reloads the configuration (flags `argv`, the
    environment and the files read again; see exporter/runtime.py)."""
    from modelcache_exporter.runtime import Runtime

    freeze_startup()  # the imported modules: out of the full collections that scrapes would meet
    # A thread with work of its own (a model's rescan, the ledger) holds the GIL for this long before a scrape
    # may run: 1 ms instead of Python's 5 keeps scrapes flat while the index and the ledger work.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    wake = threading.Event()
    pending = {"stop": False, "reload": False}

    def on_signal(signum: int, _frame: object) -> None:
        pending["reload" if signum == signal.SIGHUP else "stop"] = True
        wake.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # first: a SIGHUP must never kill the process
        signal.signal(sig, on_signal)
    runtime = Runtime(cfg, lambda: parse(argv))
    try:
        runtime.listen()
    except OSError as exc:
        return fail(ConfigError(listen_error(cfg.web_listen_address, exc)))
    runtime.start()
    log.info(
        "listening",
        extra=kv(
            address=cfg.web_listen_address,
            telemetry_path=cfg.web_telemetry_path,
            tls=cfg.web.tls,
            basic_auth=bool(cfg.web.users),
            roots=",".join(r.name for r in cfg.roots),
            version=__version__,
        ),
    )
    while True:
        # A timed wait: a signal the kernel hands to another thread only runs its Python handler once the main
        # thread executes again, which a wait without timeout would postpone for ever.
        if not wake.wait(SIGNAL_POLL):
            continue
        wake.clear()
        if pending["stop"]:
            break
        if pending["reload"]:
            pending["reload"] = False
            log.info("SIGHUP: reloading the configuration")
            runtime.reload()
    log.info("shutting down")
    runtime.stop()
    return 0
