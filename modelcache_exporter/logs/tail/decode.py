"""Container log formats: Docker json-file and Kubernetes CRI lines to the app's own lines.

Both runtimes split the app's output on `\\n` and stamp each piece; long lines arrive in parts
(Docker: a `log` value without its `\\n`; CRI: tag `P`) and are joined here, per stream, with the
same bounds as plain lines. A line takes the timestamp of the piece that completed it. A line
that does not parse in the file's format is passed on as plain text (and counted by the caller).
"""

from __future__ import annotations

from modelcache_exporter.logs.rules.parse import parse_cri, parse_docker
from modelcache_exporter.logs.tail.assemble import LineAssembler


class Decoder:
    """Stateful decoder for one file; `format` is docker or cri."""

    def __init__(self, fmt: str, cap: int) -> None:
        self.format = fmt
        self.cap = cap
        self.streams: dict[bytes, LineAssembler] = {}
        self.malformed = 0

    @property
    def truncated(self) -> int:
        """Lines cut to the cap so far, over all streams."""
        return sum(a.truncated for a in self.streams.values())

    def _stream(self, name: bytes) -> LineAssembler:
        found = self.streams.get(name)
        if found is None:
            found = self.streams[name] = LineAssembler(self.cap)
        return found

    def _piece(self, raw: bytes) -> tuple[float | None, bytes, bytes]:
        """(time, stream, message with `\\n` when the line is complete) of one physical line."""
        if self.format == "docker":
            entry = parse_docker(raw)
            if entry is not None:
                return entry
        else:
            cri = parse_cri(raw)
            if cri is not None:
                stamp, stream, partial, message = cri
                return stamp, stream, message if partial else message + b"\n"
        self.malformed += 1
        return None, b"", raw + b"\n"

    def decode(self, lines: list[bytes], fallback: float) -> tuple[list[bytes], list[float]]:
        """Physical lines -> (message lines, their times); `fallback` stamps pieces without a time."""
        out: list[bytes] = []
        times: list[float] = []
        for raw in lines:
            if raw:
                stamp, stream, message = self._piece(raw)
                done = self._stream(stream).feed(message)
                out += done
                times += [fallback if stamp is None else stamp] * len(done)
        return out, times
