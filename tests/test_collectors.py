"""Collectors map index data to metrics: the per-model cap, absent values, a failing collector."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from modelcache_exporter.collectors.base import ScrapeCollector, ScrapeTimer
from modelcache_exporter.collectors.cache import CacheCollector
from modelcache_exporter.collectors.filesystem import FilesystemCollector
from modelcache_exporter.config.roots import RootConfig
from modelcache_exporter.fshealth.health import FsSample, RootHealth
from modelcache_exporter.index.state import IndexStats, RootState, build_state
from modelcache_exporter.scan.model import Model, RootExtras


def _state(n: int) -> RootState:
    models = [
        Model(
            key=f"models--o--m{i}",
            repo_id=f"o/m{i}",
            repo_type="model",
            size_bytes=100 * (i + 1),
            files=i + 1,
            local_files=i + 1,
            local_bytes=100 * (i + 1),
        )
        for i in range(n)
    ]
    return build_state(
        RootState("hub", "/c", "hf-hub", "test", present=True, ready=True), models, RootExtras(), IndexStats()
    )


def _registry(*sources: object) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ScrapeCollector(list(sources), ScrapeTimer()))  # type: ignore[arg-type]
    return reg


def test_models_beyond_the_cap_are_summed_as_other() -> None:
    state = _state(5)
    reg = _registry(CacheCollector(lambda: (state,), max_models=2))
    get = reg.get_sample_value
    assert get("modelcache_model_size_bytes", {"root": "hub", "repo": "o/m4", "repo_type": "model"}) == 500
    assert get("modelcache_model_size_bytes", {"root": "hub", "repo": "o/m0", "repo_type": "model"}) is None
    other = {"root": "hub", "repo": "(other)", "repo_type": ""}
    assert get("modelcache_model_size_bytes", other) == 100 + 200 + 300
    assert get("modelcache_model_files", other) == 6
    assert get("modelcache_root_size_bytes", {"root": "hub"}) == 1500  # totals are never capped


class _Broken:
    name = "broken"

    def collect(self) -> Iterable[Metric]:
        raise RuntimeError("a source that fails")


def test_a_failing_collector_does_not_blank_the_scrape() -> None:
    state = _state(1)
    reg = _registry(_Broken(), CacheCollector(lambda: (state,)))
    assert reg.get_sample_value("modelcache_scrape_collector_success", {"collector": "broken"}) == 0
    assert reg.get_sample_value("modelcache_scrape_collector_success", {"collector": "cache"}) == 1
    assert b"modelcache_root_present" in generate_latest(reg)


def test_filesystems_without_inodes_still_report_space() -> None:
    """btrfs reports f_files = 0: no inode ratio, but every space metric."""
    health = RootHealth(RootConfig("r", "/x"), "/proc", "/sys", 60.0)
    health.sample = FsSample(time=1.0, size_bytes=1000, avail_bytes=250, free_bytes=300, files=0, files_free=0)
    reg = _registry(FilesystemCollector([health], timeout=5.0))
    assert reg.get_sample_value("modelcache_filesystem_usage_ratio", {"root": "r"}) == 0.75
    assert reg.get_sample_value("modelcache_filesystem_files", {"root": "r"}) == 0
    assert reg.get_sample_value("modelcache_filesystem_files_usage_ratio", {"root": "r"}) is None
