"""Read positions in the state directory (`<state>/logs/positions.json`), written atomically.

{"version": 1, "sources": {"webui": [{"path": …, "dev": …, "ino": …, "offset": …, "head": …,
"head_len": …, "tail": …}]}}. A file that cannot be read or parsed is treated as empty (and
logged): the sources then start as on first sight.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields

from modelcache_exporter.base.log import kv
from modelcache_exporter.logs.tail.follow import Position

log = logging.getLogger(__name__)
_FIELDS = {f.name for f in fields(Position)}


class PositionStore:
    """Loads and saves the positions of every source."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.last: dict[str, list[dict[str, object]]] = {}

    def load(self) -> dict[str, list[Position]]:
        """Saved positions by source name ({} when there are none)."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            sources = data["sources"]
            return {
                str(name): [Position(**{k: v for k, v in p.items() if k in _FIELDS}) for p in items]
                for name, items in sources.items()
            }
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("log positions unreadable; starting as on first sight", extra=kv(path=self.path, err=exc))
            return {}

    def save(self, positions: Mapping[str, Sequence[Position]]) -> bool:
        """Write atomically (temporary file + rename) when something changed; False on error."""
        data = {name: [asdict(p) for p in items] for name, items in positions.items()}
        if data == self.last:
            return True
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".positions.", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump({"version": 1, "sources": data}, fh)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as exc:
            log.warning("cannot save log positions: %s", exc.strerror, extra=kv(path=self.path))
            return False
        self.last = data
        return True
