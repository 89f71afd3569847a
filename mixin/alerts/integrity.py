"""CorruptFile, warning and critical: a cached file's content no longer matches the hash that names it.
RequiredModelUnreadable, critical: the web UI's user cannot read a required model that is there."""

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
        Alert(
            "RequiredModelUnreadable",
            "critical",
            "(modelcache_required_model_unreadable_files{sel} + modelcache_required_model_unreadable_folders{sel})"
            " > 0",
            "The web UI's user cannot read a required model.",
            '{{ $value | printf "%.0f" }} file(s) or folder(s) of required model {{ $labels.model }} in cache '
            "root {{ $labels.root }} on {{ $labels.instance }} cannot be read by the web UI's user: the files are "
            "there, but it downloads the model again at its next start (or fails offline).",
            t["unreadable_for"],
        ),
    ]
