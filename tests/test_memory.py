"""The malloc arena cap: set on glibc at start, left to the operator when MALLOC_ARENA_MAX is given."""

from __future__ import annotations

import platform

import pytest

from modelcache_exporter.memory import limit_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="arenas are glibc's")
def test_the_arena_cap_is_set_on_glibc() -> None:
    assert limit_arenas({}) is True


def test_an_operator_setting_wins() -> None:
    assert limit_arenas({"MALLOC_ARENA_MAX": "4"}) is False
