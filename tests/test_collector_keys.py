"""A collector's `cache_key()` holds what it encodes, not the `id()` of it: a re-evaluation that frees the
old tuple may get its id, and its change would never reach a scrape."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from modelcache_exporter.collectors.registry import per_model_key


def _key(required: tuple[Any, ...]) -> object:
    index = SimpleNamespace(states=lambda: ())
    return per_model_key(1, index, SimpleNamespace(required=required))  # type: ignore[arg-type]


def test_a_new_evaluation_with_other_values_changes_the_key_whatever_its_id() -> None:
    required = tuple(["org/tts", True])
    first = _key(required)
    del required  # gone: CPython hands its memory, and so its id, to the next tuple of its size
    again = tuple(["org/tts", False])
    assert _key(again) != first


def test_an_equal_evaluation_keeps_the_key() -> None:
    assert _key(("org/tts", True)) == _key(("org/tts", True))
