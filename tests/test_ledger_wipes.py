"""A cache wipe is most of a root's bytes gone within one minute, not the sum of every removal since the last
quiet minute: a cache that churns for hours (old models deleted as new ones arrive) is never a wipe, and the
removals remembered for the decision stay bounded."""

from __future__ import annotations

from modelcache_exporter.ledger.classify import Arrival
from modelcache_exporter.ledger.settings import LedgerSettings
from modelcache_exporter.ledger.stats import Counters


def test_steady_churn_is_not_a_wipe_and_the_window_stays_bounded() -> None:
    counters, settings = Counters(), LedgerSettings()
    counters.set_present("hub", 100, 100_000)
    now = 0.0
    for i in range(720):  # two hours: every 10 s, 1 % of the cache replaced (it used to add up to 671 "wipes")
        now += 10
        counters.apply("hub", "org/old", [], [(f"old{i}", 1000)], False, now, settings)
        counters.apply("hub", "org/new", [Arrival(f"new{i}", "first", 1000, None, i)], [], False, now + 1, settings)
    root = counters.roots["hub"]
    assert root.wipes == 0 and root.removals == 720 and root.present_bytes == 100_000
    assert len(root.window) <= 7  # one minute of removals


def test_most_bytes_gone_within_a_minute_is_one_wipe() -> None:
    counters, settings = Counters(), LedgerSettings()
    counters.set_present("hub", 10, 100_000)
    for i in range(6):  # 60 % gone in 50 s, model by model
        counters.apply("hub", f"org/m{i}", [], [(f"blob{i}", 10_000)], False, 1000.0 + 10 * i, settings)
    assert counters.roots["hub"].wipes == 1
    counters.apply("hub", "org/m9", [], [(f"blob{9}", 10_000)], False, 1100.0, settings)
    assert counters.roots["hub"].wipes == 1  # not armed again until something arrives


def test_removals_slower_than_the_window_are_not_a_wipe() -> None:
    counters, settings = Counters(), LedgerSettings()
    counters.set_present("hub", 10, 100_000)
    for i in range(6):  # the same 60 %, one model every 2 minutes: a clean-up, not a lost volume
        counters.apply("hub", f"org/m{i}", [], [(f"blob{i}", 10_000)], False, 1000.0 + 120 * i, settings)
    assert counters.roots["hub"].wipes == 0


def test_a_removal_after_a_wipe_and_a_download_is_not_another_wipe() -> None:
    counters, settings = Counters(), LedgerSettings()
    counters.set_present("hub", 10, 100_000)
    counters.apply("hub", "org/all", [], [(f"blob{i}", 10_000) for i in range(8)], False, 1000.0, settings)
    assert counters.roots["hub"].wipes == 1  # 80 % gone at once
    counters.apply("hub", "org/new", [Arrival("fresh", "redownload", 10_000, None, 1)], [], False, 1010.0, settings)
    counters.apply("hub", "org/x", [], [("blob8", 10_000)], False, 1020.0, settings)  # one model of three left
    assert counters.roots["hub"].wipes == 1  # 10,000 of 30,000: the earlier losses made the first wipe


def test_a_model_unreadable_when_it_changed_is_kept_and_synced_once_readable(tmp_path, monkeypatch) -> None:
    """A root made unreadable (chmod, a remount) between an index event and the ledger's listing used to be
    listed as empty: every blob counted removed, a wipe, and re-downloads once readable again."""
    import os

    import cachefixture

    from modelcache_exporter.index.types import RootRef
    from modelcache_exporter.layouts import common as artifacts
    from modelcache_exporter.layouts import scan_root
    from modelcache_exporter.ledger.monitor import Ledger

    hub = cachefixture.build(tmp_path / "hub")
    ref = RootRef("hub", str(hub), "hf-hub")
    ledger = Ledger(str(tmp_path / "ledger.sqlite"), lambda: (), (), LedgerSettings())
    models = scan_root(str(hub), "hf-hub", "hub").models
    for m in models:
        ledger._handle("model", ref, m.key, m, True)
    ledger._handle("indexed", ref, "", None, False)
    present = ledger.counters.roots["hub"].present_bytes
    assert present > 0

    def unreadable(path: object) -> os.stat_result:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(artifacts.os, "lstat", unreadable)
    for m in models:
        ledger._handle("model", ref, m.key, m, False)
    root = ledger.counters.roots["hub"]
    assert (root.removals, root.wipes, root.present_bytes) == (0, 0, present)
    assert len(ledger._unread) == len(models)
    monkeypatch.undo()
    ledger._tick(0.0)  # readable again: synced, nothing arrived, nothing was lost
    root = ledger.counters.roots["hub"]
    assert (root.removals, root.wipes, sum(root.downloads.values()), root.present_bytes) == (0, 0, 0, present)
    assert ledger._unread == {}
    ledger.store.close()


def test_a_cache_turned_over_within_a_minute_but_kept_full_is_not_a_wipe() -> None:
    """Files replaced by new versions faster than the window (the soak's small plain root turns over in
    about a minute) remove more than half the bytes within a minute, yet nothing was lost."""
    counters, settings = Counters(), LedgerSettings()
    counters.set_present("plain", 10, 100_000)
    now = 1000.0
    for i in range(40):  # every 2 s one 10 % file replaced: the whole root within 20 s
        now += 2
        counters.apply("plain", "m", [Arrival(f"new{i}", "new_revision", 10_000, None, i)], [], False, now, settings)
        counters.apply("plain", "m", [], [(f"old{i}", 10_000)], False, now + 0.5, settings)
    root = counters.roots["plain"]
    assert root.wipes == 0 and root.removals == 40 and root.present_bytes == 100_000


def test_an_update_then_a_prune_of_the_old_revision_is_not_a_wipe() -> None:
    counters, settings = Counters(), LedgerSettings()
    counters.set_present("hub", 4, 40_000)  # one model, the cache's only one
    counters.apply("hub", "org/m", [Arrival(f"v2-{i}", "new_revision", 10_000, None, i) for i in range(4)], [], False,
                   1000.0, settings)  # fmt: skip
    counters.apply("hub", "org/m", [], [(f"v1-{i}", 10_000) for i in range(4)], False, 1010.0, settings)
    assert counters.roots["hub"].wipes == 0 and counters.roots["hub"].present_bytes == 40_000
