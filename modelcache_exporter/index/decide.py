"""Which layout one root is indexed in, and where that came from (`configured`, `detected` or `unknown`).

Precedence: a configured layout (never changed by detection) > decisive content on disk (see
`scan.detect`) > the layout remembered for that path (`memory.LayoutMemory`, reported as detected)
> `unknown`. So a root that is empty or missing keeps the layout it was last seen in (a wiped cache is
re-filled in its own layout, and counted as such), and a root never seen with decisive content stays
`unknown` (it is indexed with no models and looked at again on every change) until some arrives.

Decisive content of another layout than the remembered one switches the root to it, with a warning
(the folder was re-purposed), except that content only `plain` (visible entries, no marker) never
replaces a remembered `modelscope`: ModelScope's marker (`._____temp`) exists only during downloads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from modelcache_exporter.base.log import kv
from modelcache_exporter.base.rootconfig import RootConfig
from modelcache_exporter.index.memory import LayoutMemory
from modelcache_exporter.scan import UNKNOWN, detect_layout

log = logging.getLogger(__name__)
CONFIGURED, DETECTED = "configured", "detected"
SOURCES = (CONFIGURED, DETECTED, UNKNOWN)


@dataclass(frozen=True)
class Choice:
    """A layout (`unknown` while not known) and its source."""

    layout: str
    source: str

    @property
    def known(self) -> bool:
        """True once the root can be scanned in `layout`."""
        return self.source != UNKNOWN


def overrides(detected: str, remembered: str | None) -> bool:
    """True when freshly detected content replaces the remembered layout."""
    if detected in (UNKNOWN, remembered):
        return False
    return not (detected == "plain" and remembered == "modelscope")


def choose_layout(configured: str, remembered: str | None, detected: str) -> Choice:
    """The rule above, as a pure function (`configured` is `auto` when not configured)."""
    if configured != "auto":
        return Choice(configured, CONFIGURED)
    if remembered and not overrides(detected, remembered):
        return Choice(remembered, DETECTED)
    if detected != UNKNOWN:
        return Choice(detected, DETECTED)
    return Choice(UNKNOWN, UNKNOWN)


class LayoutDecision:
    """One root's layout choice, kept by the root's worker; detections are remembered in `memory`."""

    def __init__(self, cfg: RootConfig, exclude: Iterable[str], memory: LayoutMemory) -> None:
        self.cfg, self.exclude, self.memory = cfg, tuple(exclude), memory
        self.choice = choose_layout(cfg.layout, memory.recall(cfg.path), UNKNOWN)

    @property
    def layout(self) -> str:
        """The layout in use, or `unknown`."""
        return self.choice.layout

    def decide(self) -> bool:
        """Look at the root now (at a start); True when its layout is known."""
        if self.choice.source == CONFIGURED:
            return True
        remembered = self.memory.recall(self.cfg.path)
        new = choose_layout(self.cfg.layout, remembered, detect_layout(self.cfg.path, self.exclude))
        if new.known and new.layout != remembered:
            if remembered:
                log.warning(
                    "cache root holds content of another layout than remembered; switching",
                    extra=kv(root=self.cfg.name, path=self.cfg.path, remembered=remembered, layout=new.layout),
                )
            else:
                log.info("cache root layout detected", extra=kv(root=self.cfg.name, layout=new.layout))
            self.memory.remember(self.cfg.path, new.layout)
        self.choice = new
        return new.known

    def contradicted(self) -> bool:
        """True when the root now holds decisive content that replaces the layout in use (re-index)."""
        if self.choice.source == CONFIGURED:
            return False
        return overrides(detect_layout(self.cfg.path, self.exclude), self.choice.layout)
