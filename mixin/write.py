"""The one writer of generated files: write them, or with `check` compare them to what is on disk."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path


def stale(files: Mapping[Path, str]) -> list[Path]:
    """The files whose text on disk is not the given one (missing files included)."""
    return [path for path, text in files.items() if not path.exists() or path.read_text() != text]


def write(files: Mapping[Path, str]) -> None:
    """Write each file, creating its folder."""
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write_or_check(files: Mapping[Path, str], check: bool, command: str) -> int:
    """Write `files`, exit status 0; with `check`, write nothing and return 1 (naming the files and the
    `command` that regenerates them on stderr) if one differs from its fresh generation."""
    if not check:
        write(files)
        return 0
    old = stale(files)
    if old:
        print(f"out of date (run {command}): " + ", ".join(map(str, old)), file=sys.stderr)
        return 1
    return 0
