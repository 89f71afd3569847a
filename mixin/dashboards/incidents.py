"""The overview's incident panels: a root missing or on storage lost at restart, wipes, re-downloads counted as
models, corruption, partial and stalled downloads, required models missing; and the tables naming the roots
and models concerned.

Counts say what they count: "models" and "roots" count series of distinct (instance, root[, repo]), "files"
count artifacts (one model is several files: a three-model wipe re-downloads ten files). Events in the shown
time range are read from the ledger's timestamps (`modelcache_last_*_timestamp_seconds`, kept across restarts),
as the alerts do, not from counters that miss an event before a new instance's first scrape.
"""

from __future__ import annotations

from typing import Any

from mixin.config import CORRUPTION_KINDS
from mixin.dashboards.panels import SEL, Cell, stat, steps, table, target

ROOT_LABELS = "instance, job, root"
CORRUPT = f'modelcache_root_corruptions{{{SEL}, kind=~"{CORRUPTION_KINDS}"}}'


def recent(timestamp_metric: str) -> str:
    """The series of `timestamp_metric` whose event happened within the shown time range."""
    return f"time() - max_over_time({timestamp_metric}{{{SEL}}}[$__range]) < $__range_s"


def _stat(title: str, description: str, expr: str, level: tuple[str, float] | None = ("red", 1)) -> Cell:
    """A count on a small tile, coloured from `level` on."""
    return Cell(stat(title, description, expr, "none", steps(level) if level else steps()), width=4, height=4)


def incident_stats() -> list[Cell]:
    """What is broken now, or broke in the shown range: one tile each (next to "Alerts firing")."""
    return [
        _stat(
            "Cache roots missing",
            "Cache roots that do not exist or are not a folder now (modelcache_root_present 0): the volume is not "
            "mounted or the path is wrong; the next load downloads everything.",
            f"count(modelcache_root_present{{{SEL}}} == 0) or vector(0)",
        ),
        _stat(
            "Roots on ephemeral storage",
            "Cache roots on storage lost at restart (tmpfs, ramfs, a container's overlay, an emptyDir): "
            "modelcache_filesystem_ephemeral 1.",
            f"count(modelcache_filesystem_ephemeral{{{SEL}}} == 1) or vector(0)",
            ("orange", 1),
        ),
        _stat(
            "Roots wiped",
            "Cache roots that lost most of their bytes at once in the shown time range (the ledger's "
            "modelcache_last_cache_wipe_timestamp_seconds).",
            f"count({recent('modelcache_last_cache_wipe_timestamp_seconds')}) or vector(0)",
        ),
        _stat(
            "Models downloaded again",
            "Models (repos, each once per root and instance) downloaded again in the shown time range although "
            "the cache had them complete: the cache was lost or is not the one the web UI uses. Files: see "
            '"Files downloaded again".',
            "count(count by (instance, root, repo) "
            f"({recent('modelcache_last_unexpected_redownload_timestamp_seconds')})) or vector(0)",
        ),
        _stat(
            "Corrupt entries",
            f"Cache entries of the kinds {CORRUPTION_KINDS.replace('|', ', ')} now (modelcache_root_corruptions): "
            "a model using them fails to load or is downloaded again.",
            f"sum({CORRUPT}) or vector(0)",
            ("orange", 1),
        ),
    ]


def download_stats() -> list[Cell]:
    """Required models missing, downloads running and stalled, files downloaded again (narrow tiles)."""
    cells = [
        _stat(
            "Required models missing",
            "Required models in no cache root (modelcache_required_model_present 0): the web UI downloads them "
            "before it can start.",
            f"count(modelcache_required_model_present{{{SEL}}} == 0) or vector(0)",
        ),
        _stat(
            "Downloads running",
            "Partial downloads (files) that grew within the stall time: modelcache_downloads_active.",
            f"sum(modelcache_downloads_active{{{SEL}}}) or vector(0)",
            None,
        ),
        _stat(
            "Downloads stalled",
            "Partial downloads (files) that stopped growing: modelcache_downloads_stalled.",
            f"sum(modelcache_downloads_stalled{{{SEL}}}) or vector(0)",
            ("orange", 1),
        ),
        _stat(
            "Files downloaded again",
            "Files (artifacts) downloaded again in the shown time range although the cache had them complete "
            '(modelcache_downloads_total{reason="redownload"}, a series there from the start, so increase() sees '
            "the first one); one model is several files.",
            f'round(sum(increase(modelcache_downloads_total{{{SEL}, reason="redownload"}}[$__range]))) or vector(0)',
        ),
    ]
    return [Cell(c.panel, width=3, height=4) for c in cells]


def _per_root(metric: str, ref: str, how: str = "max") -> Any:
    """One column of the roots table: `metric` per (instance, job, root), so every column merges on the same labels."""
    return target(f"{how} by ({ROOT_LABELS}) ({metric})", ref=ref, instant=True)


def roots_table() -> Cell:
    """Each root: there, storage lost at restart, corrupt entries, partial and stalled downloads, last wipe."""
    columns = {
        "Value #A": "present",
        "Value #B": "lost on restart",
        "Value #C": "corrupt entries",
        "Value #D": "partial files",
        "Value #E": "stalled files",
        "Value #F": "last wiped",
    }
    return Cell(
        table(
            "Cache roots",
            "Each cache root: present, on storage lost at restart, corrupt entries (kinds "
            f"{CORRUPTION_KINDS.replace('|', ', ')}), partial downloads and those stalled (files), when last wiped.",
            [
                _per_root(f"modelcache_root_present{{{SEL}}}", "A"),
                _per_root(f"modelcache_filesystem_ephemeral{{{SEL}}}", "B"),
                _per_root(CORRUPT, "C", "sum"),
                _per_root(f"modelcache_downloads_in_progress{{{SEL}}}", "D"),
                _per_root(f"modelcache_downloads_stalled{{{SEL}}}", "E"),
                _per_root(f"modelcache_last_cache_wipe_timestamp_seconds{{{SEL}}} * 1000", "F"),
            ],
            "none",
            columns,
            units={"present": "bool_yes_no", "lost on restart": "bool_yes_no", "last wiped": "dateTimeFromNow"},
        ),
        width=14,
    )


def models_table() -> Cell:
    """The models with corrupt entries or partial downloads now."""
    return Cell(
        table(
            "Models with problems",
            "Models with corrupt entries (modelcache_model_corruptions: broken links, dangling refs, missing "
            "snapshots) or partial downloads (modelcache_model_incomplete_files and _bytes) now.",
            [
                target(f"modelcache_model_corruptions{{{SEL}}} > 0", ref="A", instant=True),
                target(f"modelcache_model_incomplete_files{{{SEL}}} > 0", ref="B", instant=True),
                target(f"modelcache_model_incomplete_bytes{{{SEL}}} > 0", ref="C", instant=True),
            ],
            "none",
            {"Value #A": "corrupt entries", "Value #B": "partial files", "Value #C": "partial bytes"},
            units={"partial bytes": "bytes"},
        ),
        width=10,
    )
