"""The exporter's own facts: version and library versions."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from importlib import metadata

from prometheus_client.core import Metric

from modelcache_exporter import __version__
from modelcache_exporter.collectors.families import gauge
from modelcache_exporter.collectors.registry import Workers, register


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


class ExporterCollector:
    """`modelcache_exporter_build_info`."""

    name = "exporter"

    def __init__(self) -> None:
        self.labels = [__version__, platform.python_version(), _version("huggingface_hub"), _version("watchdog")]

    def collect(self) -> Iterator[Metric]:
        info = gauge(
            "exporter_build_info",
            "Version of the exporter and of the libraries whose cache layouts it reads.",
            ["version", "python_version", "huggingface_hub_version", "watchdog_version"],
        )
        info.add_metric(self.labels, 1)
        yield info


@register("exporter")
def _exporter(_w: Workers) -> ExporterCollector:
    """Always."""
    return ExporterCollector()
