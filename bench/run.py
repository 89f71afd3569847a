"""All benchmarks in one command; prints one table (and writes it to `--output FILE` when given).

    python bench/run.py            # full sizes (generates ~1.3M-file caches once, in <tmp>/modelcache-bench)
    python bench/run.py --quick    # small sizes, a smoke run (what CI may run)
    python bench/run.py --only scan,scrape

bench/results.md is written by hand from such tables, with what each run measured and under which conditions;
a run never overwrites it (`--output bench/results.md` does, on purpose).

Every comparison is measured side by side in the same run (these machines are noisy: read ratios).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import Row, render

SECTIONS = ["scan", "exact", "busy", "scrape", "live", "logs"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    p.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    p.add_argument("--output", help="also write the table (with a header naming the run) to this file")
    a = p.parse_args()
    rows: list[Row] = []
    t0 = time.monotonic()
    for name in a.only.split(","):
        try:
            module = importlib.import_module(f"sec_{name}")
        except ModuleNotFoundError:
            print(f"section {name}: not available", file=sys.stderr)
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        rows.extend(module.run(a.quick))
    table = render(rows)
    print(table)
    header = (
        f"# Benchmark results\n\n`python bench/run.py{' --quick' if a.quick else ''}` on "
        f"{platform.node() and 'this machine'}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}, {time.monotonic() - t0:.0f} s in all.\n\n"
    )
    if a.output:
        with open(a.output, "w") as fh:
            fh.write(header + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
