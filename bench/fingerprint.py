"""The scan with and without the content fingerprint, in one run: the same generated hub cache, alternating
runs, warm page cache (the fingerprint is one sha256 over the sorted blob list the scan already has).

    python bench/fingerprint.py [--repos 200] [--files 50] [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import modelcache_exporter.scan.hub as hub
from bench.gencache import make_cache


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    real = hub.fingerprint
    top = tempfile.mkdtemp(prefix="modelcache-fp-")
    try:
        make_cache(top, repos=args.repos, files=args.files)

        def run(on: bool) -> float:
            hub.fingerprint = real if on else (lambda _entries: "")  # type: ignore[assignment]
            t0 = time.perf_counter()
            hub.scan_root(top, links=True)
            return time.perf_counter() - t0

        run(True)  # warm the page cache
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.runs):
            for on in (False, True):
                times[on].append(run(on))
    finally:
        hub.fingerprint = real
        shutil.rmtree(top, ignore_errors=True)
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    print(f"| scan of {args.repos * args.files:,} blobs, warm | median of {args.runs} | ratio |\n|---|---|---|")
    print(f"| without the fingerprint | {without:.3f} s | 1.000x |")
    print(f"| with the fingerprint | {with_:.3f} s | {with_ / without:.3f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
