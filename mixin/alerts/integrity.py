"""CorruptFile, warning and critical: a cached file's content no longer matches the hash that names it."""

from __future__ import annotations

from mixin.alerts.model import Alert
from mixin.config import Thresholds


def integrity(t: Thresholds) -> list[Alert]:
    """Warning for any model, critical for a required one (the warning is then inhibited)."""
    return [
        Alert(
            "CorruptFile",
            "warning",
            "modelcache_model_corrupt_files{sel} > 0",
            "A cached file does not match its hash.",
            '{{ $value | printf "%.0f" }} file(s) of {{ $labels.repo }} in cache root {{ $labels.root }} on '
            "{{ $labels.instance }} no longer match the hash that names them: loading them fails, or the "
            "library downloads them again.",
            t["corrupt_file_for"],
        ),
        Alert(
            "CorruptFile",
            "critical",
            "modelcache_required_model_corrupt_files{sel} > 0",
            "A file of a required model does not match its hash.",
            '{{ $value | printf "%.0f" }} file(s) of required model {{ $labels.model }} in cache root '
            "{{ $labels.root }} on {{ $labels.instance }} no longer match the hash that names them: the web UI "
            "fails to load it, or downloads it again at its next start.",
            t["corrupt_file_for"],
        ),
    ]
