"""Pure parsing helpers: the `\\r` rule, ANSI escapes, tqdm sizes and clocks, timestamps, repo ids,
and the container log formats (Docker json-file, Kubernetes CRI). No I/O here.

The `\\r` rule: lines are split on `\\n` only (as `wc -l`, grep and mtail count them). A physical
line holding `\\r`-separated tqdm updates is ONE line whose current state is its last `\\r`
segment with content (what a terminal shows); earlier segments are overwritten history.
"""

from __future__ import annotations

import calendar
import json
import re
import time

_ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_PREFIXES = {b"k": 1, b"K": 1, b"M": 2, b"G": 3, b"T": 4, b"P": 5, b"E": 6, b"Z": 7, b"Y": 8}
_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?")
_CRI = re.compile(rb"(\d{4}-\d\d-\d\dT\S+) (stdout|stderr) ([FP])(?: (.*))?$", re.S)
_REPO_DIR = re.compile(r"(?:models|datasets|spaces)--([^/\\]+?)--([^/\\]+)")
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}")


def current_state(line: bytes) -> bytes:
    """The last `\\r` segment of `line` that has content, right-stripped (b"" when none has)."""
    end = len(line)
    while end > 0:
        start = line.rfind(b"\r", 0, end)
        segment = line[start + 1 : end].rstrip()
        if segment or start < 0:
            return segment
        end = start
    return b""


def earlier_states(line: bytes) -> list[bytes]:
    """All `\\r` segments with content, oldest first (for a bar overwritten by another line)."""
    return [s for s in (part.rstrip() for part in line.split(b"\r")) if s]


def strip_ansi(line: bytes) -> bytes:
    """`line` without terminal escape sequences (colours, cursor moves such as tqdm's ESC[A)."""
    return _ANSI.sub(b"", line)


def parse_size(text: bytes, base: int = 1000) -> int | None:
    """A tqdm size (`275`, `1.36k`, `28.0M`, `2.32G`, `5.43kB`) in bytes; None when unknown (`?`)."""
    text = text.strip()
    if text.endswith(b"B"):
        text = text[:-2] if text.endswith(b"iB") else text[:-1]
    power = _PREFIXES.get(text[-1:], 0)
    if power:
        text = text[:-1]
    try:
        return round(float(text) * base**power)
    except (ValueError, OverflowError):
        return None


def parse_clock(text: bytes) -> float | None:
    """A tqdm interval (`00:30`, `1:02:03`, `2d 01:02:03`) in seconds; None when unknown."""
    days = 0
    if b"d" in text:
        head, _, text = text.partition(b"d")
        if not head.strip().isdigit():
            return None
        days = int(head)
    parts = text.strip().split(b":")
    if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
        return None
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + int(p)
    return float(seconds + days * 86400)


def parse_local_timestamp(text: bytes) -> float | None:
    """`2025-10-14 09:12:27,401` (Python logging's asctime, local time) in epoch seconds."""
    try:
        date, clock = text.decode("ascii").split(" ")
        hms, _, ms = clock.partition(",")
        y, mo, d = (int(x) for x in date.split("-"))
        h, mi, s = (int(x) for x in hms.split(":"))
        return time.mktime((y, mo, d, h, mi, s, 0, 0, -1)) + (int(ms) / 1000 if ms else 0.0)
    except (ValueError, OverflowError, UnicodeDecodeError):
        return None


def parse_rfc3339(text: str) -> float | None:
    """RFC 3339 with optional fraction (nanoseconds allowed) and offset, in epoch seconds."""
    m = _RFC3339.match(text)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    try:
        seconds = float(calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)))
    except (ValueError, OverflowError):
        return None
    if m.group(7):
        seconds += float("0" + m.group(7)[:10])
    zone = m.group(8) or "Z"
    if zone != "Z":
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        seconds += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


def repo_from_path(path: str) -> str:
    """`org/name` from a Hugging Face cache path (`…/models--org--name/…`), else ""."""
    m = _REPO_DIR.search(path)
    return f"{m.group(1)}/{m.group(2)}" if m else ""


def valid_repo(repo: str) -> bool:
    """True for something shaped like a repo id (`org/name`, bounded length, no spaces or paths)."""
    return _REPO_ID.fullmatch(repo) is not None


def basename(path: str) -> str:
    """The last component of a POSIX or Windows path."""
    return path.replace("\\", "/").rstrip("/").rpartition("/")[2]


def text(value: bytes | None) -> str:
    """Decode a capture for listeners; invalid UTF-8 never raises."""
    return value.decode("utf-8", "replace") if value else ""


def detect_format(line: bytes) -> str:
    """`docker`, `cri` or `plain` from the first line of a file."""
    if line.startswith(b'{"log":') or (line.startswith(b"{") and b'"log"' in line and b'"time"' in line):
        return "docker"
    if _CRI.match(line):
        return "cri"
    return "plain"


def parse_cri(line: bytes) -> tuple[float | None, bytes, bool, bytes] | None:
    """`<RFC3339Nano> stdout|stderr F|P <msg>` -> (time, stream, partial, message); None if malformed."""
    m = _CRI.match(line)
    if m is None:
        return None
    return parse_rfc3339(m.group(1).decode("ascii", "replace")), m.group(2), m.group(3) == b"P", m.group(4) or b""


def parse_docker(line: bytes) -> tuple[float | None, bytes, bytes] | None:
    """A json-file entry -> (time, stream, message with its `\\n` if complete); None if malformed."""
    try:
        entry = json.loads(line)
        message = entry["log"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(message, str):
        return None
    when = entry.get("time")
    stream = str(entry.get("stream", "stdout")).encode()
    stamp = parse_rfc3339(when) if isinstance(when, str) else None
    return stamp, stream, message.encode("utf-8", "surrogateescape")
