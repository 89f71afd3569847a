"""Alerts of the group `modelcache.cache`: the cache's contents, its required models, re-downloads, wipes, the
cost of the next start."""

from __future__ import annotations

from mixin.alerts.integrity import integrity
from mixin.alerts.model import SEVERITIES, Alert, recently, secs
from mixin.config import CORRUPTION_KINDS, Thresholds

# A download that grows keeps the required-model alerts quiet; an abandoned partial file (stalled) does not.
NO_DOWNLOAD = "unless on(instance, job, root)\n  modelcache_downloads_active{sel} > 0"
READY = "and on(instance, job, root)\n  modelcache_index_ready{sel} == 1"


def _state(t: Thresholds) -> list[Alert]:
    """RootMissing, Corruption, DownloadStalled: what is on disk now."""
    return [
        Alert(
            "RootMissing",
            "warning",
            "(\n  modelcache_root_present{sel} == 0\n)\n* on(instance, job, root) group_left(path)\n"
            "  modelcache_root_info{sel}",
            "A model cache directory does not exist.",
            "Cache root {{ $labels.root }} ({{ $labels.path }}) does not exist on {{ $labels.instance }}: "
            "the cache was deleted, its volume is not mounted, or HF_HOME points elsewhere. The next model "
            "load downloads everything again.",
            t["root_missing_for"],
        ),
        Alert(
            "Corruption",
            "warning",
            f'modelcache_root_corruptions{{sel, kind=~"{CORRUPTION_KINDS}"}} > 0',
            "A model cache has corrupt entries.",
            '{{ $value | printf "%.0f" }} corrupt entries of kind {{ $labels.kind }} in cache root '
            "{{ $labels.root }} on {{ $labels.instance }}: a model using them fails to load or is "
            "downloaded again.",
            t["corruption_for"],
        ),
        Alert(
            "DownloadStalled",
            "warning",
            "modelcache_downloads_stalled{sel} > 0",
            "A model download makes no progress.",
            '{{ $value | printf "%.0f" }} download(s) into cache root {{ $labels.root }} on '
            "{{ $labels.instance }} have stopped growing: the web UI waits on them.",
            t["download_stalled_for"],
        ),
    ]


def _events(t: Thresholds) -> list[Alert]:
    """UnexpectedRedownload and Wiped: events that page for `event_window` after they happen."""
    ew, gap = t["event_window"], t["event_gap"]
    return [
        Alert(
            "UnexpectedRedownload",
            "warning",
            recently("modelcache_last_unexpected_redownload_timestamp_seconds{sel}", ew, gap),
            "A model was downloaded again although it had been in the cache.",
            "{{ $labels.repo }} was downloaded again into cache root {{ $labels.root }} on "
            f"{{{{ $labels.instance }}}} in the last {ew}, after it had been complete there: the cache was "
            "lost or is not the one the web UI uses.",
        ),
        Alert(
            "Wiped",
            "warning",
            recently("modelcache_last_cache_wipe_timestamp_seconds{sel}", ew, gap),
            "A model cache was wiped.",
            "Cache root {{ $labels.root }} on {{ $labels.instance }} lost most of its bytes at once in the last "
            f"{ew} (deleted, or its volume missing): the next load of each model downloads it again.",
        ),
    ]


def _required(t: Thresholds) -> list[Alert]:
    """RequiredModelMissing and RequiredModelIncomplete: the models the web UI needs."""
    return [
        Alert(
            "RequiredModelMissing",
            "critical",
            # a model found nowhere has root="" (unless its requirement names one): guards are per instance
            "(\n  modelcache_required_model_present{sel} == 0\nand on(instance, job)\n"
            "  min by (instance, job) (modelcache_index_ready{sel}) == 1\n)\nunless on(instance, job)\n"
            "  sum by (instance, job) (modelcache_downloads_active{sel}) > 0",
            "A required model is not in the cache.",
            "Required model {{ $labels.model }} is in no cache root of {{ $labels.instance }} and nothing is "
            "downloading: the web UI cannot start without downloading it first.",
            t["required_missing_for"],
        ),
        Alert(
            "RequiredModelIncomplete",
            "warning",
            "(\n  modelcache_required_model_missing_files{sel} > 0\nand on(instance, job, root, model)\n"
            f"  modelcache_required_model_complete{{sel}} == 0\n{READY}\n)\n{NO_DOWNLOAD}",
            "A required model is in the cache with files missing.",
            "Required model {{ $labels.model }} in cache root {{ $labels.root }} on {{ $labels.instance }} "
            'lacks {{ $value | printf "%.0f" }} file(s) and nothing is downloading them: loading it fails '
            "or downloads them first.",
            t["required_incomplete_for"],
        ),
    ]


#: The bytes of the same root, for a description whose value is the forecast.
NEXT_BYTES = (
    '{{ with printf "modelcache_next_start_download_bytes{instance=%q,job=%q,root=%q}" $labels.instance '
    "$labels.job $labels.root | query }}{{ . | first | value | humanize }}{{ end }}B"
)


def _next_start(t: Thresholds) -> list[Alert]:
    """NextStartSlow, warning and critical: files of required models are gone while the web UI still serves."""
    out = []
    for sev in SEVERITIES:
        limit = t[f"next_start_{sev}_seconds"]
        out.append(
            Alert(
                "NextStartSlow",
                sev,
                f"(\n  modelcache_next_start_forecast_seconds{{sel}} > {limit}\nand on(instance, job, root)\n"
                "  modelcache_next_start_download_bytes{sel} > 0\n)\nand on(instance, job)\n"
                "  modelcache_webui_ready{sel} == 1",
                f"If the web UI restarts now, it downloads its models for more than {secs(limit)}.",
                f"If the web UI on {{{{ $labels.instance }}}} restarts now, it downloads {NEXT_BYTES} of required "
                "models into cache root {{ $labels.root }} again, about {{ $value | humanizeDuration }} before it "
                f"serves (threshold {secs(limit)}): the files are gone from the cache although the running web UI "
                "still has them in memory. Restore them before the next restart.",
                t["next_start_for"],
            )
        )
    return out


def _fleet(t: Thresholds) -> list[Alert]:
    """RevisionDrift (instances disagree) and LedgerNotPersistent (history lost on restart)."""
    return [
        Alert(
            "RevisionDrift",
            "warning",
            "count by (job, repo) (\n  count by (job, repo, revision) (\n"
            '    modelcache_model_revision_info{sel, refs=~"(.+,)?main(,.+)?", repo!="(other)"}\n  )\n) > 1',
            "Instances of one job have different revisions of a model.",
            "The instances of job {{ $labels.job }} have {{ $value }} different revisions of {{ $labels.repo }} "
            "as main: they serve different model versions.",
            t["drift_for"],
        ),
        Alert(
            "LedgerNotPersistent",
            "warning",
            "modelcache_ledger_persistent{sel} == 0",
            "The exporter keeps its download history in memory only.",
            "The download ledger of {{ $labels.instance }} could not be stored in --path.state and is kept in "
            "memory: after a restart the exporter cannot tell a re-download from a first download.",
            t["ledger_for"],
        ),
    ]


def cache(t: Thresholds) -> list[Alert]:
    """The group's alerts in file order."""
    return [*_state(t), *_events(t), *_required(t), *integrity(t), *_next_start(t), *_fleet(t)]
