"""Cache sizes per root and per model, from the in-memory index (no filesystem access)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from prometheus_client.core import Metric

from modelcache_exporter.collectors.cacherows import (
    MODEL_TABLE,
    ROOT_TABLE,
    Other,
    capped,
    other_block,
    root_block,
    shown_block,
)
from modelcache_exporter.collectors.registry import Workers, register
from modelcache_exporter.collectors.rows import BlockTable, Item
from modelcache_exporter.index.state import RootState


class CacheCollector:
    """`modelcache_root_*` and `modelcache_model_*`. Encoded model by model (`rows.BlockTable`): after the index
    publishes, only the roots and models whose metrics changed are encoded again."""

    name = "cache"

    def __init__(self, states: Callable[[], tuple[RootState, ...]], max_models: int = 200) -> None:
        self.states, self.max_models = states, max_models
        self._roots, self._models = BlockTable(ROOT_TABLE), BlockTable(MODEL_TABLE)

    def cache_key(self) -> object:
        """Changes whenever any root publishes a new index state."""
        return tuple((s.name, s.generation) for s in self.states())

    def collect(self) -> Iterator[Metric]:
        states = self.states()
        yield from self._roots.families(self._root_items(states))
        yield from self._models.families(self._model_items(states))

    def exposition(self) -> Callable[[bool], bytes]:
        """The encoder of the current states (both formats encode the same snapshot)."""
        states = self.states()

        def encode(om: bool) -> bytes:
            return self._roots.encode(self._root_items(states), om) + self._models.encode(self._model_items(states), om)

        return encode

    @staticmethod
    def _root_items(states: tuple[RootState, ...]) -> Iterator[Item]:
        return ((s.name, s, root_block) for s in states)

    def _model_items(self, states: tuple[RootState, ...]) -> Iterator[Item]:
        """Each root's shown models, then its `(other)`, keyed apart (a folder may be named "(other)")."""
        for s in states:
            shown, rest = capped(s.models, self.max_models)
            of_model, of_other = partial(shown_block, s.name), partial(other_block, s.name)
            for m in shown:
                yield ("model", s.name, m.key), m, of_model
            if rest:
                yield ("other", s.name), Other(rest), of_other


@register("cache")
def _cache(w: Workers) -> CacheCollector | None:
    """Reads the index, when the cache collector runs."""
    return CacheCollector(w.index.states, w.max_models) if w.index is not None else None
