"""The malloc arena cap: set on glibc at start, left to the operator when MALLOC_ARENA_MAX is given. What is
alive at start is frozen out of the cyclic collector's full collections, and still freed when unreferenced."""

from __future__ import annotations

import gc
import platform
import weakref

import pytest

from modelcache_exporter.memory import freeze_startup, limit_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="arenas are glibc's")
def test_the_arena_cap_is_set_on_glibc() -> None:
    assert limit_arenas({}) is True


def test_an_operator_setting_wins() -> None:
    assert limit_arenas({"MALLOC_ARENA_MAX": "4"}) is False


class _Node:
    pass


def test_what_is_alive_at_start_is_left_out_of_full_collections() -> None:
    kept = [_Node() for _ in range(1000)]
    dropped = _Node()
    gone = weakref.ref(dropped)
    before = len(gc.get_objects())
    try:
        frozen = freeze_startup()
        tracked = {id(o) for o in gc.get_objects()}
        assert frozen >= 1000 and len(tracked) < before - 1000
        assert not any(id(o) in tracked for o in kept)  # a full collection no longer traverses them
        del dropped  # frozen objects are still freed by their last reference
        assert gone() is None
    finally:
        gc.unfreeze()
    tracked = {id(o) for o in gc.get_objects()}
    assert all(id(o) in tracked for o in kept[:10])
