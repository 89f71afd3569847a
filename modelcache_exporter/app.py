"""Assembly: from a `Config` to running background workers and a registry of collectors."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.process_collector import ProcessCollector

from modelcache_exporter import __version__
from modelcache_exporter.access.checker import AccessChecker
from modelcache_exporter.access.perms import Who, parse_who
from modelcache_exporter.access.run import Place, required_places
from modelcache_exporter.base.log import kv
from modelcache_exporter.base.published import PUBLISHED
from modelcache_exporter.collectors.base import ScrapeCollector, ScrapeTimer, Source
from modelcache_exporter.collectors.catalog import build
from modelcache_exporter.collectors.registry import Workers
from modelcache_exporter.config.flags import Config
from modelcache_exporter.fshealth.health import RootHealth
from modelcache_exporter.fshealth.sampler import DiskSampler
from modelcache_exporter.index import CacheIndex, IndexSettings, LayoutMemory, RootState
from modelcache_exporter.integrity.verifier import Verifier
from modelcache_exporter.ledger.monitor import Ledger
from modelcache_exporter.ledger.settings import LedgerSettings
from modelcache_exporter.logs.events import DOWNLOAD_FINISHED
from modelcache_exporter.logs.monitor import LogMonitor, MonitorSettings
from modelcache_exporter.web import landing, overview

log = logging.getLogger(__name__)
#: The longest a change that is not announced (`base.published`) waits to be encoded ahead of scrapes (s);
#: a published one is encoded at once.
ENCODE_AHEAD = 0.1
#: The least time between two encodings ahead (s): a burst of publications is encoded once or twice.
ENCODE_GAP = 0.01


class Exporter:
    """Everything the exporter runs; `start()` launches the threads, `stop()` ends them."""

    def __init__(
        self,
        cfg: Config,
        statvfs: Callable[[str], os.statvfs_result] = os.statvfs,
        extra_sources: Sequence[Source] = (),
    ) -> None:
        self.cfg = cfg
        self.extra_sources = list(extra_sources)
        self.timer = ScrapeTimer()
        self.logs = build_monitor(cfg)
        self.ledger = self._new_ledger() if cfg.cache and cfg.ledger else None
        self.index = self._new_index() if cfg.cache else None
        self.health = self._new_health(statvfs) if cfg.filesystem or cfg.diskstats or cfg.probe else []
        self.verifier = self._new_verifier() if cfg.cache and cfg.verify and cfg.verify_max_bytes_per_second else None
        self.readable = self._new_readable() if cfg.cache and cfg.readable_by else None
        self.disk = DiskSampler(cfg.path_procfs, cfg.diskstats_interval) if cfg.diskstats else None
        self.events = overview.LastEvents()
        if self.logs is not None:
            self.logs.add_listener(self.events.record)
            if self.ledger is not None:
                self.logs.add_listener(self.ledger.log_event, kinds=[DOWNLOAD_FINISHED])
        self.workers = self._workers()
        self.scrape = ScrapeCollector(self._sources(), self.timer, [ProcessCollector(registry=None)])
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.scrape)
        self._halt = threading.Event()
        self._threads: list[threading.Thread] = []

    def _new_ledger(self) -> Ledger:
        cfg = self.cfg
        settings = LedgerSettings(
            stall_after=cfg.ledger_stall_after,
            required_interval=cfg.required_interval,
            default_throughput=float(cfg.ledger_default_throughput),
        )
        path = os.path.join(cfg.path_state, "ledger.sqlite")
        return Ledger(path, self._states, cfg.required, settings, cfg.path_procfs, self._last_load)

    def _new_verifier(self) -> Verifier:
        cfg = self.cfg
        path = os.path.join(cfg.path_state, "verify.sqlite")
        return Verifier(self._states, path, float(cfg.verify_max_bytes_per_second), cfg.verify_interval)

    def _new_readable(self) -> AccessChecker:
        who = parse_who(self.cfg.readable_by) or Who(0)  # set: checked when the configuration was loaded
        return AccessChecker(self._states, who, self.cfg.readable_interval, self._required_places)

    def _required_places(self, root: str) -> list[Place]:
        return required_places(self.ledger.required if self.ledger else (), self.cfg.required, root)

    def _last_load(self) -> float | None:
        """The web UI's last measured load duration (None without a log monitor, or before a load was seen)."""
        return self.logs.snapshot.load.last_duration if self.logs is not None else None

    def _new_index(self) -> CacheIndex:
        cfg = self.cfg
        settings = IndexSettings(
            reconcile=cfg.cache_reconcile_interval,
            poll=cfg.cache_poll_interval,
            max_watches=cfg.cache_max_watches,
            scan_workers=cfg.cache_scan_workers,
        )
        memory = LayoutMemory(cfg.path_state, [r.path for r in cfg.roots])
        return CacheIndex(cfg.roots, settings, listeners=(self.ledger,) if self.ledger else (), memory=memory)

    def _new_health(self, statvfs: Callable[[str], os.statvfs_result]) -> list[RootHealth]:
        """One sampler per root: its filesystem, its block device, its probe."""
        cfg = self.cfg
        probe_interval = cfg.probe_interval if cfg.probe else 0.0
        return [
            RootHealth(
                r,
                cfg.path_procfs,
                cfg.path_sysfs,
                cfg.filesystem_interval,
                self._probe_dirs(r.probe_dir),
                probe_interval,
                statvfs,
            )
            for r in cfg.roots
        ]

    def _states(self) -> tuple[RootState, ...]:
        return self.index.states() if self.index is not None else ()

    def _probe_dirs(self, root_probe: str) -> tuple[str, ...]:
        explicit = root_probe or self.cfg.probe_dir
        return (explicit,) if explicit else (os.path.join(self.cfg.path_state, "probe"),)

    def _workers(self) -> Workers:
        """What the collectors and the landing page read."""
        cfg = self.cfg
        return Workers(
            self.index,
            self.ledger,
            self.verifier,
            self.readable,
            self.health,
            self.disk,
            self.logs,
            max_models=cfg.cache_max_models,
            filesystem_timeout=cfg.filesystem_timeout,
            filesystem=cfg.filesystem,
            probe=cfg.probe,
            webui=cfg.webui,
        )

    def _sources(self) -> list[Source]:
        """The registered collectors that have something to read (`collectors.catalog`), then the extra ones."""
        return [*build(self.workers), *self.extra_sources]

    def start(self) -> None:
        """Create the state directory (its path logged) and start every background thread (the ledger logs its
        path, the index each root)."""
        try:
            os.makedirs(self.cfg.path_state, exist_ok=True)
            log.info("state directory", extra=kv(path=os.path.abspath(self.cfg.path_state)))
        except OSError as exc:
            log.warning("state directory unusable: %s", exc.strerror, extra=kv(path=self.cfg.path_state))
        if self.ledger is not None:
            self.ledger.start()
        if self.index is not None:
            self.index.start()
        if self.verifier is not None:
            self.verifier.start()
        if self.readable is not None:
            self.readable.start()
        for t in [*self.health, *([self.disk] if self.disk else [])]:
            t.start()
        if self.logs is not None:
            self.logs.start()
        ahead = threading.Thread(target=self._encode_loop, name="encode", daemon=True)
        ahead.start()
        self._threads.append(ahead)
        if self.cfg.textfile_output:
            writer = threading.Thread(target=self._textfile_loop, name="textfile", daemon=True)
            writer.start()
            self._threads.append(writer)

    def _encode_loop(self) -> None:
        """Encode what changed before scrapes ask for it (`ScrapeCollector.prepare`): as soon as a state is
        published, and every ENCODE_AHEAD s for what is not announced."""
        seen = PUBLISHED.count
        while not self._halt.is_set():
            seen = PUBLISHED.wait(seen, ENCODE_AHEAD)
            try:
                self.scrape.prepare()
            except Exception:
                log.exception("encoding ahead of scrapes failed")
            self._halt.wait(ENCODE_GAP)

    def stop(self) -> None:
        """Stop the threads (samplers blocked in a hung syscall are daemons and are left behind)."""
        self._halt.set()
        PUBLISHED.bump()  # wakes the encoder to see the halt
        for h in self.health:
            h.stop()
        if self.disk is not None:
            self.disk.stop()
        if self.logs is not None:  # first: the download events it delivers on the way out reach the ledger
            self.logs.stop()
        if self.verifier is not None:
            self.verifier.stop()
        if self.readable is not None:
            self.readable.stop()
        if self.index is not None:
            self.index.stop()
        if self.ledger is not None and self.ledger.is_alive():
            self.ledger.stop()
            self.ledger.join(5.0)
        for t in self._threads:
            t.join(2.0)

    def _textfile_loop(self) -> None:
        while True:
            try:
                write_to_textfile(self.cfg.textfile_output, self.registry)
            except OSError as exc:
                log.warning("cannot write textfile output: %s", exc, extra=kv(path=self.cfg.textfile_output))
            if self._halt.wait(self.cfg.textfile_interval):
                return

    def landing(self) -> str:
        """The `/` page, from what the workers last published (no filesystem access)."""
        cfg = self.cfg
        paths = {src.name: src.path or ("(standard input)" if src.stdin else "") for src in cfg.log_sources}
        inputs = overview.gather(self.workers, cfg.ledger_stall_after, paths, self.events, time.time())
        page = overview.build(inputs)
        return landing.render(page, f"modelcache-exporter {__version__}", cfg.web_telemetry_path)


def build_monitor(cfg: Config) -> LogMonitor | None:
    """The monitor the configuration asks for, or None (no log source and nothing to watch)."""
    sources = cfg.log_sources if cfg.logs else ()
    watch = cfg.webui and bool(cfg.webui_process_pattern or cfg.webui_ready_url)
    if not sources and not watch:
        return None
    settings = MonitorSettings(
        poll_interval=cfg.logs_poll_interval,
        max_line=cfg.logs_max_line_bytes,
        max_repos=cfg.logs_max_repos,
        read_backlog=cfg.logs_read_backlog,
        rotate_wait=cfg.logs_rotate_wait,
        flush_interval=cfg.logs_position_interval,
        state_dir=cfg.path_state,
        process_pattern=cfg.webui_process_pattern if watch else "",
        ready_url=cfg.webui_ready_url if watch else "",
        webui_interval=cfg.webui_interval,
        ready_timeout=cfg.webui_ready_timeout,
    )
    return LogMonitor(sources, cfg.log_patterns, settings)
