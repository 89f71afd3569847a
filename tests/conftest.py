"""Shared fixtures: the fake Hub, and the repo root on sys.path for `import modelcache_exporter`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakehub import FakeHub


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """A fake Hugging Face Hub on 127.0.0.1 for the real huggingface_hub client."""
    with FakeHub() as fake:
        yield fake
