"""Our full log parser (every built-in profile) over one file, as its own process, like mtail.

    python bench/logs_driver.py LOG RESULT.json [--listener none|some|all]

Reads the whole file as a first-sight backlog through the real `LogMonitor` (tailer, assembler,
parser, download and load trackers); writes the event counts and the in-process parse time.
`--listener some` subscribes to stage and ready events (how the counts are taken), `all` to every
event (the cost of a listener such as the download ledger that wants everything).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelcache_exporter.logs.monitor import LogMonitor, MonitorSettings
from modelcache_exporter.logs.rules.sources import LogSourceConfig


def main() -> None:
    log, result = sys.argv[1], sys.argv[2]
    mode = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--listener" else "some"
    mon = LogMonitor([LogSourceConfig("webui", log)], (), MonitorSettings(rotate_wait=0.0))
    kinds: Counter[str] = Counter()
    if mode != "none":
        mon.add_listener(lambda e: kinds.update([e.kind]), None if mode == "all" else ("stage", "ready"))
    t0 = time.perf_counter()
    mon.poll_once()
    seconds = time.perf_counter() - t0
    d = mon.downloads.stats
    counts = {
        "ready": kinds["ready"],
        "stages": kinds["stage"],
        "downloads_finished": sum(n for (source, _), n in d.finished.items() if source in ("hf", "modelscope")),
        "requests": mon.webui.requests,
        "errors": sum(mon.webui.errors.values()),
        "indextts_downloads": sum(n for (source, _), n in d.started.items() if source == "indextts"),
        "lines": mon.runners[0].stats.lines,
        "loads": mon.load.loads,
    }
    Path(result).write_text(json.dumps({"counts": counts, "parse_seconds": seconds}))


if __name__ == "__main__":
    main()
