"""Tuning of the download ledger, shared by its worker (`monitor`), its syncing (`sync`) and its counters
(`stats`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LedgerSettings:
    """Tuning of the ledger.

    `stall_after`: seconds a partial download may stop growing before it counts as stalled;
    `wipe_ratio`, `wipe_window`: a root that loses more than this share of its bytes within this many
    seconds was wiped; `required_interval`: seconds between checks of the required models; `tick`: the
    worker's period (retries, partial downloads, publishing the counters); `state_check`: seconds between
    checks that the database file is still there (the state directory deleted while running);
    `state_retry`: seconds before the database file is tried again while the ledger is kept in memory
    (doubling after each failure, up to ten times that); `default_throughput`: bytes per second the next-start
    forecast assumes until this host has completed a timed download.
    """

    stall_after: float = 300.0
    wipe_ratio: float = 0.5
    wipe_window: float = 60.0
    required_interval: float = 30.0
    tick: float = 1.0
    state_check: float = 10.0
    state_retry: float = 30.0
    default_throughput: float = 10e6
