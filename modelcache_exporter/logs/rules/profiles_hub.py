"""Built-in profiles for the download libraries: huggingface_hub and ModelScope.

Sources: indextts2-output.md §2 (huggingface_hub 0.13-1.22 bar labels, the verbose
`Downloading '…' to '….incomplete'` lines, offline/connection/consistency errors) and §3
(ModelScope 1.27: `Downloading [file]` bars in 1024-based units, timestamped logger lines).
"""

from __future__ import annotations

from modelcache_exporter.logs.rules.rules import Profile, Rule

# tqdm 4.x `format_meter`: "{desc}: {pct:3.0f}%|{bar}| {n}/{total} [{elapsed}<{remaining}, {rate}{postfix}]";
# the bar is left out when the terminal reports 0 columns, the whole `|…|` is optional.
_N = r"[\d.]+[kMGTPEZY]?"
BAR = (
    rf"^(?P<desc>.*?): *(?P<pct>\d+)%(?:\|[^|]*\|)? *(?P<n>{_N})/(?P<total>{_N}) "
    r"\[(?P<el>[\d:d ]+)<[^,\]]*, *(?P<rate>[^\]]*)\]$"
)
BAR_NO_TOTAL = rf"^(?P<desc>.*?): (?P<n>{_N})(?:B|it) \[(?P<el>[\d:d ]+), *(?P<rate>[^\]]*)\]$"
_TS = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})"
_DIGITS = "0123456789"
_HF = (("source", "hf"),)
_MS = (("source", "modelscope"),)


def _hf_error(name: str, kind: str, regex: str) -> Rule:
    return Rule(name, "error", regex, contains="rror", attrs=(*_HF, ("error", kind)))


HUGGINGFACE_HUB = Profile(
    "huggingface_hub",
    (
        Rule("snapshot_bar", "info", r"Fetching (?:\d+|\.\.\.) files: *\d+%", prefix="Fetching "),
        Rule("dry_run_bar", "info", r"\[dry-run\] Fetching", prefix="[dry-run] Fetching"),
        Rule("aggregate_bar", "info", r"Downloading \(incomplete total|Downloading bytes", prefix="Downloading "),
        Rule("aggregate_done_bar", "info", r"Download complete: ", prefix="Download complete: "),
        Rule("reconstruct_bar", "info", r"Reconstruct", prefix="Reconstruct"),
        Rule(
            "verbose_start",
            "dl_start",
            r"Downloading '(?P<file>.+)' to '(?P<incomplete>.+)\.incomplete'"
            r"(?: \(resume from (?P<resume>\d+)/(?P<expected>\d+)\))? *$",
            prefix="Downloading '",
            attrs=_HF,
        ),
        Rule(
            "verbose_done",
            "dl_done",
            r"Download complete\. Moving file to (?P<dest>.+?) *$",
            prefix="Download",
            attrs=_HF,
        ),
        Rule("xet_notice", "info", r"Xet Storage is enabled", prefix="Xet Storage is enabled"),
        Rule("lock_wait", "info", r"Still waiting to acquire lock on", prefix="Still waiting to acquire lock"),
        Rule("bar", "progress", BAR, suffix="]", attrs=_HF),
        Rule("bar_no_total", "progress", BAR_NO_TOTAL, suffix="]", attrs=_HF),
        _hf_error(
            "offline",
            "offline",
            r"OfflineModeIsEnabled|offline mode is enabled"
            r"|(?:disk cache|local disk) and outgoing traffic has been disabled",
        ),
        _hf_error("consistency", "consistency", r"Consistency check failed"),
        _hf_error("auth", "auth", r"40[13] Client Error|GatedRepoError|Unauthorized for url"),
        _hf_error("not_found", "not_found", r"(?:Repository|Entry|Revision)NotFoundError|404 Client Error"),
        _hf_error(
            "connection",
            "connection",
            r"We couldn't connect to|LocalEntryNotFoundError|Max retries exceeded|ConnectionError|ConnectTimeout"
            r"|ReadTimeout|NameResolutionError|Network is unreachable|FileMetadataError|Error while downloading from"
            r"|SSLError",
        ),
        _hf_error("http", "http", r"HTTP Error \d+ thrown while requesting|HfHubHTTPError"),
    ),
)

MODELSCOPE = Profile(
    "modelscope",
    (
        Rule(
            "model_dir",
            "repo",
            r"Downloading Model from (?P<endpoint>\S+) to directory: (?P<repo_dir>.+?) *$",
            prefix="Downloading Model from ",
            attrs=_MS,
        ),
        Rule("dataset_dir", "info", r"Downloading Dataset to directory: ", prefix="Downloading Dataset "),
        Rule(
            "file_bar",
            "progress",
            rf"Downloading \[(?P<desc>[^\]]+)\]: *(?P<pct>\d+)%(?:\|[^|]*\|)? *(?P<n>{_N})/(?P<total>{_N}) "
            r"\[(?P<el>[\d:d ]+)<[^,\]]*, *(?P<rate>[^\]]*)\] *$",
            prefix="Downloading [",
            attrs=(*_MS, ("base", "1024")),
        ),
        Rule("items_bar", "info", r"Processing \d+ items: *\d+%", prefix="Processing "),
        Rule(
            "repo_done",
            "dl_settle",
            _TS + r" - modelscope - \w+ - Download (?:model|dataset) '(?P<repo>[^']+)' successfully",
            first=_DIGITS,
            attrs=_MS,
        ),
        Rule(
            "retry",
            "error",
            _TS + r" - modelscope - \w+ - Downloading: .* failed, reason:",
            first=_DIGITS,
            attrs=(*_MS, ("error", "connection")),
        ),
        Rule(
            "incomplete",
            "error",
            _TS + r" - modelscope - \w+ - File .* download incomplete",
            first=_DIGITS,
            attrs=(*_MS, ("error", "consistency")),
        ),
        Rule("logger", "info", _TS + r" - modelscope - ", first=_DIGITS),
        Rule(
            "fallback",
            "error",
            r"ModelScope download failed for ",
            prefix="ModelScope download failed",
            attrs=(*_MS, ("error", "download")),
        ),
        Rule(
            "offline",
            "error",
            r"cached path and outgoing traffic has been disabled",
            contains="rror",
            attrs=(*_MS, ("error", "offline")),
        ),
    ),
)
