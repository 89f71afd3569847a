"""What the next start of the model server would download, for `check`: the ledger's forecast
(`ledger.forecast`) computed on a read-only copy of the ledger, from the roots `check` just scanned."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from modelcache_exporter.index.state import RootState
from modelcache_exporter.ledger.forecast import MIN_BYTES, MIN_SECONDS, SAMPLES, forecast, throughput
from modelcache_exporter.ledger.required import Requirement, evaluate
from modelcache_exporter.ledger.store import Store


def next_start(
    reqs: Sequence[Requirement], states: Sequence[RootState], state_dir: str, default_rate: float
) -> dict[str, Any] | None:
    """The forecast as the report's data; None without required models (nothing says what a start needs)."""
    if not reqs:
        return None
    path = os.path.join(state_dir, "ledger.sqlite")
    store = Store(path, read_only=True) if os.path.exists(path) else None
    if store is None:
        rate, load = throughput((), default_rate), None
        fc = forecast([(r, evaluate(r, states)) for r in reqs], states, _Nothing(), rate, load)
    else:
        rate = throughput(store.timed_downloads(MIN_BYTES, SAMPLES, MIN_SECONDS), default_rate)
        fc = forecast([(r, evaluate(r, states)) for r in reqs], states, store, rate, store.last_load())
        store.db.close()
    hub = {s.name for s in states if s.layout == "hf-hub"}
    return {
        "ledger": store is not None,
        "bytes": fc.bytes,
        "seconds": fc.seconds,
        "load_seconds": fc.load_seconds,
        "throughput_bytes_per_second": fc.throughput.bytes_per_second,
        "throughput_samples": fc.throughput.samples,
        "unknown_models": list(fc.unknown_models),
        "files": [
            {
                "root": f.root,
                "repo": f.repo,
                "revision": f.revision,
                "path": f.path,
                "bytes": f.bytes,
                "hub": f.root in hub,
            }
            for f in fc.files
        ],
    }


class _Nothing:
    """No ledger: no file was ever seen, every missing required model is of unknown size."""

    def model_files(self, root: str, model: str) -> list[Any]:
        return []

    def files_at(self, root: str, paths: list[str]) -> list[Any]:
        return []
