"""Building metric families: our prefix, gauges and counters, and gauges declared as data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from modelcache_exporter.base.names import is_text, label_text

PREFIX = "modelcache_"


def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    """A gauge family with our prefix."""
    return GaugeMetricFamily(PREFIX + name, doc, labels=list(labels))


def counter(name: str, doc: str, labels: Sequence[str] = ()) -> CounterMetricFamily:
    """A counter family with our prefix (the `_total` suffix is added on exposition)."""
    return CounterMetricFamily(PREFIX + name, doc, labels=list(labels))


#: A gauge declared as data: (name without prefix, help text, how to read its value from an object;
#: None means no sample for that object).
Spec = tuple[str, str, Callable[[Any], "float | None"]]


class GaugeTable:
    """Gauges that share labels and read their values from the same object (a root, a model)."""

    def __init__(self, specs: Sequence[Spec], labels: Sequence[str]) -> None:
        self.rows = [(gauge(name, doc, labels), get) for name, doc, get in specs]

    def add(self, labels: Sequence[str], obj: Any) -> None:
        """One sample per gauge for `obj` (none where the spec reads None)."""
        for family, get in self.rows:
            value = get(obj)
            if value is not None:
                family.add_metric(list(labels), float(value))

    def families(self) -> list[GaugeMetricFamily]:
        """The gauges, in declaration order."""
        return [family for family, _get in self.rows]


def text_labels(families: Iterable[Metric]) -> list[Metric]:
    """The families, with every label value valid UTF-8 (`label_text`: a name that is not text shown escaped).
    Samples whose values are all text, nearly all of them, are left as they are."""
    out = list(families)
    for family in out:
        for i, sample in enumerate(family.samples):
            if not all(is_text(v) for v in sample.labels.values()):
                labels = {k: label_text(v) for k, v in sample.labels.items()}
                family.samples[i] = type(sample)(sample.name, labels, *sample[2:])  # Sample: (name, labels, ...)
    return out
