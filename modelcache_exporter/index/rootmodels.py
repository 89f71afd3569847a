"""What one root's index holds between two published snapshots (mutated only on the root's worker thread)."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelcache_exporter.index.layouts import LayoutOps
from modelcache_exporter.index.watchset import WatchSet
from modelcache_exporter.scan.model import Model, RootExtras


@dataclass
class RootModels:
    """The index of one root.

    `models`: the last report of every model, by key. `extras`: what belongs to the root rather than to a
    model (shared store, temp downloads, errors). `sigs`: folder signatures as last seen by the poller, by
    model key (the listing under `watchset.ROOT`). `unverified`: models the link pass has not read yet, in
    order. `verify_dirty`: the link pass changed something not yet published. `ops`: the operations of the
    root's layout (None while the root is not indexed). `watches`: the root's inotify watches (None while it is polled).
    """

    models: dict[str, Model] = field(default_factory=dict)
    extras: RootExtras = field(default_factory=RootExtras)
    sigs: dict[str, tuple[object, ...]] = field(default_factory=dict)
    unverified: list[str] = field(default_factory=list)
    verify_dirty: bool = False
    ops: LayoutOps | None = None
    watches: WatchSet | None = None

    def clear_watches(self) -> None:
        """Stop watching everything (the watch set is kept, empty, for the next start)."""
        if self.watches is not None:
            self.watches.clear()

    def forget(self) -> None:
        """The root is gone: no models, extras, signatures or pending link reads any more."""
        self.models, self.extras, self.unverified, self.sigs = {}, RootExtras(), [], {}
