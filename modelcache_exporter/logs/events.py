"""The event a log monitor hands to its listeners. Stable: other components (the download ledger)
subscribe with `LogMonitor.add_listener(fn)` and must not break when the parser changes.

Every field except `kind` and `time` has an empty default; only the fields that make sense for a
kind are set. Text fields (`file`, `repo`) are for listeners; metrics never use them as labels
unbounded (the repo label is capped, file names are never labels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Parsed from the log.
LOADING = "loading"  # a line that only appears while models load (start marker, stderr warnings)
STAGE = "stage"  # one stage of the load finished (`stage`)
READY = "ready"  # the app says it serves (Gradio's "Running on local URL")
STOPPED = "stopped"  # the app says it is shutting down
ERROR = "error"  # an error line (`error` kind; `source` when it concerns a download)
DOWNLOAD_STARTED = "download_started"  # `source`, `repo`, `file`, `bytes_total` when known
DOWNLOAD_PROGRESS = "download_progress"  # `bytes_done`/`bytes_total` of a download in progress
DOWNLOAD_FINISHED = "download_finished"  # `bytes_total`, `seconds` (tqdm elapsed or start→finish)
DOWNLOAD_FAILED = "download_failed"  # an in-progress download ended without finishing (`error`)
REQUEST = "request"  # an inference request finished (`seconds`)
RTF = "rtf"  # real-time factor of the last request (`rtf`)
CUSTOM = "custom"  # a configured pattern of kind `custom` matched (`pattern`, `value`)
# Synthesized by the monitor.
PROCESS_STARTED = "process_started"  # the web UI process was (re)started (`time` = its start time)
PROCESS_EXITED = "process_exited"  # the web UI process is gone
LOAD_FINISHED = "load_finished"  # a load ended (`seconds` when its duration is known)

KINDS = (
    LOADING,
    STAGE,
    READY,
    STOPPED,
    ERROR,
    DOWNLOAD_STARTED,
    DOWNLOAD_PROGRESS,
    DOWNLOAD_FINISHED,
    DOWNLOAD_FAILED,
    REQUEST,
    RTF,
    CUSTOM,
    PROCESS_STARTED,
    PROCESS_EXITED,
    LOAD_FINISHED,
)


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One event.

    Attributes:
        kind: one of `KINDS`.
        time: wall-clock seconds: the line's own timestamp (CRI, Docker, a timestamped library
            line), else the time it was read.
        log: the configured name of the log source ("" for synthesized events).
        profile: the parser profile that matched (indextts2, huggingface_hub, modelscope, gradio,
            wetext, or a custom profile name).
        timed: False when `time` is only an upper bound (a backlog line read at first sight).
        stage, source, repo, file: see the kinds above; `source` is hf, modelscope or indextts.
        bytes_done, bytes_total: download progress in bytes (tqdm sizes have 3 significant digits).
        seconds: download duration, inference time or load duration.
        rtf: real-time factor. error: error kind. pattern, value: custom pattern name and capture.
    """

    kind: str
    time: float
    log: str = ""
    profile: str = ""
    timed: bool = True
    stage: str = ""
    source: str = ""
    repo: str = ""
    file: str = ""
    bytes_done: int | None = None
    bytes_total: int | None = None
    seconds: float | None = None
    rtf: float | None = None
    error: str = ""
    pattern: str = ""
    value: float | None = None


Listener = Callable[[LogEvent], None]
