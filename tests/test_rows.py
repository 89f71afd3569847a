"""Encoding block by block (`collectors.rows`: the cache and verify collectors) writes the very bytes
prometheus_client writes, in both formats, and a block that changed is written again while the others are
reused."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from modelcache_exporter.collectors.cache import CacheCollector
from modelcache_exporter.collectors.encoding import encode
from modelcache_exporter.collectors.families import text_labels
from modelcache_exporter.collectors.rows import Block, BlockTable, Decl
from modelcache_exporter.collectors.verify import VerifyCollector
from modelcache_exporter.index.state import IndexStats, RootState, build_state
from modelcache_exporter.integrity.run import ModelResult
from modelcache_exporter.integrity.verifier import RootVerification
from modelcache_exporter.scan.model import IncompleteFile, Model, Revision, RootExtras

# label names out of alphabetical order: the lines must sort them as prometheus_client does
DECLS = (
    Decl("t_size_bytes", 'Help with "quotes", a \\ backslash\nand a newline.', ("root", "repo", "kind")),
    Decl("t_plain", "No labels.", ()),
    Decl("t_empty", "Never filled.", ("root",)),
)
HOSTILE = ['a"b', "back\\slash", "new\nline", "not utf-8 \udcff\udcfe", "日本語", "", "{}=,"]
VALUES = [0.0, 1.0, -2.5, 0.1, 1e21, 123456789012345.0, 1.5e-300, math.inf, -math.inf, math.nan]


def _block(i: int, value: float) -> Block:
    name = HOSTILE[i % len(HOSTILE)]
    return (
        ((("r", name, "model"), value), (("r", name, "dataset"), value * 2)),
        ((((), value),) if i == 0 else ()),
        (),
    )


def _made(item: tuple[int, float]) -> Block:
    return _block(*item)


@pytest.mark.parametrize("om", [False, True])
def test_lines_equal_prometheus_clients_encoding(om: bool) -> None:
    table = BlockTable(DECLS)
    blocks = [(i, (i, v), _made) for i, v in enumerate(VALUES)]
    expected = encode(text_labels(table.families(blocks)), om)
    assert table.encode(blocks, om) == expected
    assert table.encode(blocks, om) == expected  # again, from the kept lines


def test_a_changed_block_is_written_again_and_a_gone_one_forgotten() -> None:
    table = BlockTable(DECLS)
    table.encode([(i, (i, 1.0), _made) for i in range(4)], False)
    now = [(0, (0, 1.0), _made), (1, (1, 7.0), _made), (3, (3, 1.0), _made)]  # 1 changed, 2 gone
    text = table.encode(now, False).decode()
    assert text == encode(text_labels(table.families(now)), False).decode()
    assert 'kind="model",repo="back\\\\slash",root="r"} 7.0' in text and 'repo="new\\nline"' not in text


def _model(i: int) -> Model:
    rev = Revision(f"{i:040x}", ("main", "v1") if i % 2 else (), i, 10 * i, 1.0 + i)
    part = IncompleteFile(f"blobs/{i}.incomplete", 5, 4096, 100.0 + i) if i % 3 == 0 else None
    return Model(
        key=f"models--o--m{i}",
        repo_id=f"o/{HOSTILE[i % len(HOSTILE)]}{i}",
        repo_type="model",
        size_bytes=10 * i,
        allocated_bytes=4096 * i,
        files=i,
        local_files=i,
        local_bytes=10 * i,
        revisions=(rev,),
        incomplete=(part,) if part else (),
        corruption=(("broken_link", 1),) if i == 4 else (),
        last_modified=1.0 + i,
        fingerprint=f"{i:016x}" if i % 2 else "",
    )


@pytest.mark.parametrize("om", [False, True])
def test_the_cache_collectors_encoding_equals_its_families(om: bool) -> None:
    """Capped (`(other)`), a root with no models, hostile repo names; then one model changes."""
    models = [_model(i) for i in range(12)]
    hub = build_state(
        RootState("hub", "/c", "hf-hub", "test", present=True, ready=True), models, RootExtras(), IndexStats()
    )
    empty = RootState("x\udcff", "/x", "plain", "flag", present=False, ready=True)
    states = (hub, empty)
    collector = CacheCollector(lambda: states, max_models=5)
    assert collector.exposition()(om) == encode(text_labels(collector.collect()), om)
    models[11] = replace(models[11], size_bytes=999)
    hub = build_state(hub, models, RootExtras(), IndexStats())
    states = (hub, empty)
    body = collector.exposition()(om)
    assert body == encode(text_labels(collector.collect()), om)
    assert 'modelcache_model_size_bytes{repo="o/日本語11",repo_type="model",root="hub"} 999.0'.encode() in body


class _Verifier:
    def __init__(self, roots: tuple[RootVerification, ...]) -> None:
        self.roots, self.generation = roots, 0

    def snapshot(self) -> tuple[RootVerification, ...]:
        return self.roots


class _Index:
    def __init__(self, states: tuple[RootState, ...]) -> None:
        self._states = states

    def states(self) -> tuple[RootState, ...]:
        return self._states


@pytest.mark.parametrize("om", [False, True])
def test_the_verify_collectors_encoding_equals_its_families(om: bool) -> None:
    """Models verified, one no longer in the index (left out), hostile repo names; then a result changes."""
    models = [_model(i) for i in range(6)]
    hub = build_state(
        RootState("hub", "/c", "hf-hub", "test", present=True, ready=True), models, RootExtras(), IndexStats()
    )
    results = tuple(ModelResult(m.key, files=i, bytes=10 * i, unverifiable=1) for i, m in enumerate(models))
    verifier = _Verifier((RootVerification("hub", (*results, ModelResult("models--gone")), 0.5, 0.0, 123),))
    collector = VerifyCollector(verifier, _Index((hub,)), None)  # type: ignore[arg-type]
    key = collector.cache_key()
    assert collector.exposition()(om) == encode(text_labels(collector.collect()), om)
    verifier.roots = (RootVerification("hub", (replace(results[2], corrupt=("blobs/x",)),), 1.0, 9.0, 456),)
    verifier.generation += 1
    assert collector.cache_key() != key
    body = collector.exposition()(om)
    assert body == encode(text_labels(collector.collect()), om)
    assert b"modelcache_model_corrupt_files{" in body and b"models--gone" not in body
