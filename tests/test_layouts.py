"""The layout registry: one layout object per configurable layout name, each answering to its name."""

from __future__ import annotations

import pytest

from modelcache_exporter import layouts
from modelcache_exporter.scan import LAYOUTS, UNKNOWN


def test_every_layout_name_has_its_class() -> None:
    assert set(layouts.LAYOUT_CLASSES) == set(LAYOUTS)
    assert all(layouts.get(name).name == name for name in LAYOUTS)


def test_only_the_hub_is_content_addressed_and_only_a_local_dir_one_model() -> None:
    assert [n for n in LAYOUTS if layouts.get(n).content_addressed] == ["hf-hub"]
    assert [n for n in LAYOUTS if layouts.get(n).single_model] == ["hf-local-dir"]


def test_an_undecided_root_has_no_layout_object() -> None:
    with pytest.raises(ValueError, match="unknown"):
        layouts.get(UNKNOWN)


def test_partial_downloads_name_what_they_become() -> None:
    assert layouts.get("hf-hub").partial_hint("/c/models--a--b/blobs/abc123.x7.incomplete") == "abc123"
    assert layouts.get("hf-local-dir").partial_hint("/d/.cache/huggingface/download/h.etag9.incomplete") == "etag9"
    assert layouts.get("plain").partial_hint("/p/m/.w.bin.Ab12Cd") == "w.bin"
    assert layouts.get("modelscope").partial_hint("/p/m/w.bin.incomplete") == "w.bin"
