"""Gauge families filled block by block (one block per root or model), each block's sample lines encoded once
and reused while the block is unchanged: a new index state re-encodes only what changed in it, so a scrape
right after the index published pays for the models that changed, not for all of them (encoding a
200-model root whole is ~15 ms; bench/results.md, "scrape while busy").

A gauge sample is written alike in the text format 0.0.4 and in OpenMetrics: labels sorted by name, values
valid UTF-8 (`base.names.label_text`) with backslash, newline and double quote escaped, the number as
prometheus_client's `floatToGoString` writes it. Only the families' headers differ; they come from
prometheus_client itself. tests/test_rows.py holds the bytes equal to prometheus_client's own encoding.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.utils import floatToGoString

from modelcache_exporter.base.names import label_text
from modelcache_exporter.collectors.encoding import encode

#: One sample: its label values (in the family's label order) and its value.
Row = tuple[tuple[str, ...], float]
#: What one object gives each family of a table, in the table's family order.
Block = tuple[tuple[Row, ...], ...]
#: One object of a table: its key, the object, and how its block is made from it.
Item = tuple[Hashable, Any, Callable[[Any], Block]]


@dataclass(frozen=True)
class Decl:
    """A gauge family of a table: full name, help text, label names."""

    name: str
    doc: str
    labels: tuple[str, ...]


def _escape(value: str) -> str:
    return label_text(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class BlockTable:
    """Gauge families declared once (`decls`), filled by blocks keyed by the object they describe."""

    def __init__(self, decls: Sequence[Decl]) -> None:
        self.decls = tuple(decls)
        self._headers: dict[bool, tuple[bytes, ...]] = {}
        self._memo: dict[Hashable, tuple[object, Block, tuple[bytes, ...]]] = {}
        self._lock = threading.Lock()
        # per family: the label positions in the order they are written (sorted by name)
        self._order = tuple(tuple(sorted(range(len(d.labels)), key=d.labels.__getitem__)) for d in self.decls)

    def families(self, items: Iterable[Item]) -> list[GaugeMetricFamily]:
        """The families holding every item's rows (the registry path: textfile output, tests)."""
        out = [GaugeMetricFamily(d.name, d.doc, labels=list(d.labels)) for d in self.decls]
        for _key, obj, make in items:
            for family, rows in zip(out, make(obj), strict=True):
                for labels, value in rows:
                    family.add_metric(list(labels), value)
        return out

    def encode(self, items: Iterable[Item], om: bool) -> bytes:
        """The families as exposition bytes (text format, or OpenMetrics without `# EOF`), in item order. The
        object last encoded under a key is not read again; another one whose block is equal reuses its lines;
        keys not given are forgotten."""
        with self._lock:
            memo: dict[Hashable, tuple[object, Block, tuple[bytes, ...]]] = {}
            columns: list[list[bytes]] = [[] for _ in self.decls]
            for key, obj, make in items:
                hit = self._memo.get(key)
                if hit is None or hit[0] is not obj:
                    block = make(obj)
                    hit = (obj, block, hit[2] if hit is not None and hit[1] == block else self._lines(block))
                memo[key] = hit
                for column, lines in zip(columns, hit[2], strict=True):
                    column.append(lines)
            self._memo = memo
            headers = self._header(om)
        return b"".join(head + b"".join(column) for head, column in zip(headers, columns, strict=True))

    def _lines(self, block: Block) -> tuple[bytes, ...]:
        """Each family's sample lines for one block (a model's label values, written alike in each of its
        families, are escaped once: a new root encodes every model at once)."""
        out = []
        written: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
        for decl, order, rows in zip(self.decls, self._order, block, strict=True):
            text = []
            for labels, value in rows:
                pairs = written.get((decl.labels, labels))
                if pairs is None:
                    pairs = ",".join(f'{decl.labels[i]}="{_escape(labels[i])}"' for i in order)
                    written[(decl.labels, labels)] = pairs
                text.append(f"{decl.name}{{{pairs}}}" if pairs else decl.name)
                text.append(f" {floatToGoString(value)}\n")
            out.append("".join(text).encode("utf-8"))
        return tuple(out)

    def _header(self, om: bool) -> tuple[bytes, ...]:
        """Each family's `# HELP`/`# TYPE` lines in one format, as prometheus_client writes them."""
        if om not in self._headers:
            empty = [GaugeMetricFamily(d.name, d.doc, labels=list(d.labels)) for d in self.decls]
            self._headers[om] = tuple(encode([family], om) for family in empty)
        return self._headers[om]
