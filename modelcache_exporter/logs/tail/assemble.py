"""Bytes in, complete lines out, with bounded memory.

A partial last line is held until its `\\n` arrives. No line grows past `cap` bytes: a line without
`\\r` keeps its head (the rest is discarded and counted in `truncated`); a line with `\\r` (tqdm
updates) keeps its latest `\\r` segment, since earlier segments are overwritten states and losing
them loses nothing. Memory per assembler is at most about twice `cap`.
"""

from __future__ import annotations


def clip(line: bytes, cap: int) -> tuple[bytes, bool]:
    """A complete line cut to `cap` bytes by the rule above; (line, whether content was lost)."""
    if len(line) <= cap:
        return line, False
    cr = line.rfind(b"\r", 0, len(line) - 1)
    while cr > 0 and not line[cr + 1 :].strip():
        cr = line.rfind(b"\r", 0, cr)
    if cr >= 0:
        state = line[cr:]
        return state[:cap], len(state) > cap
    return line[:cap], True


class LineAssembler:
    """Splits a byte stream on `\\n`."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.pending = bytearray()
        self.truncated = 0
        self._lost = False

    def feed(self, data: bytes) -> list[bytes]:
        """Append `data`; return the lines it completed (without their `\\n`)."""
        if b"\n" not in data:
            self._append(data)
            return []
        lines = data.split(b"\n")
        tail = lines.pop()
        if self.pending:
            self._append(lines[0])
            lines[0] = bytes(self.pending)
            self.pending.clear()
        if self._lost:
            self.truncated += 1
            self._lost = False
        if len(data) > self.cap:
            for i, line in enumerate(lines):
                if len(line) > self.cap:
                    lines[i], lost = clip(line, self.cap)
                    self.truncated += lost
        if tail:
            self._append(tail)
        return lines

    def _append(self, data: bytes) -> None:
        self.pending += data
        if len(self.pending) <= self.cap:
            return
        cr = self.pending.rfind(b"\r", 0, len(self.pending) - 1)
        if cr > 0:
            del self.pending[:cr]
        if len(self.pending) > self.cap:
            del self.pending[self.cap :]
            self._lost = True

    def flush(self) -> list[bytes]:
        """The partial line as a final line (end of a file that does not end with `\\n`)."""
        if not self.pending:
            return []
        line = bytes(self.pending)
        self.pending.clear()
        if self._lost:
            self.truncated += 1
            self._lost = False
        return [line]
