"""Run one cold scan the way the exporter does at start, as its own process (for timing and peak RSS).

    python bench/scan_driver.py ROOT [--workers N] [--links]

`--links` adds the link pass (every snapshot link read: exact scan_cache_dir parity).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from modelcache_exporter.index.layouts import LayoutOps
from modelcache_exporter.index.parallel import scan_parallel
from modelcache_exporter.scan import hub


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--links", action="store_true")
    a = p.parse_args()
    ops = LayoutOps(a.root, "hf-hub", "", ())
    result = scan_parallel(ops, a.workers)
    total = sum(m.size_bytes for m in result.models)
    if a.links:
        exact = [hub.scan_repo(a.root, m.key, None, links=True) for m in result.models]
        total = sum(m.size_bytes for m in exact)
    print(len(result.models), total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
