"""Command line: `modelcache-exporter [flags]` serves metrics until SIGTERM or SIGINT (SIGHUP reloads);
`modelcache-exporter check [flags]` prints one report and exits (see check/)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Sequence

from modelcache_exporter import __version__
from modelcache_exporter.base import log as logsetup
from modelcache_exporter.base.log import kv
from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.config.flags import Config
from modelcache_exporter.config.parser import PROG, parse
from modelcache_exporter.memory import limit_arenas

SIGNAL_POLL = 0.5
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
        print(f"{PROG}: invalid configuration: {exc}", file=sys.stderr)
        return 2
    logsetup.setup(cfg.log_level, cfg.log_format)
    limit_arenas()  # before any thread starts
    return run(cfg, args)


def run(cfg: Config, argv: Sequence[str] = ()) -> int:
    """Serve until SIGTERM or SIGINT (exit code 0); SIGHUP reloads the configuration (flags `argv`, the
    environment and the files read again; see exporter/runtime.py)."""
    from modelcache_exporter.runtime import Runtime

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
        print(
            f"{PROG}: cannot listen on {cfg.web_listen_address}: {exc.strerror}; choose another --web.listen-address",
            file=sys.stderr,
        )
        return 1
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
