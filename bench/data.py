"""Benchmark data, generated on demand and reused between runs (never committed).

Hub caches in the real layout with sparse blobs, shaped like the ones in measurements.md (snapshot
subfolders, lock files, 10 partial downloads): 10k = 100 repos x 100 files, 100k = 200 x 500,
1M = 500 x 2000; plus 1k and 100k caches with 500 repos, so that scrape cost can be compared at an
equal number of models (a scrape's cost depends on models, not files).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import gencache

#: name -> (repos, files per repo, one snapshot subfolder every N files)
CACHES = {
    "1k": (100, 10, 2),
    "10k": (100, 100, 2),
    "100k": (200, 500, 4),
    "1M": (500, 2000, 6),
    "1k-500": (500, 2, 2),
    "100k-500": (500, 200, 4),
}


def data_dir() -> str:
    """`$MODELCACHE_BENCH_DATA`, else `<tmp>/modelcache-bench`: millions of files stay out of the working tree."""
    return os.environ.get("MODELCACHE_BENCH_DATA") or os.path.join(tempfile.gettempdir(), "modelcache-bench")


def cache(name: str) -> str:
    """Path of a generated cache, generating it the first time."""
    repos, files, subdir_every = CACHES[name]
    path = os.path.join(data_dir(), f"cache-{name}")
    marker = path + ".done"
    if not os.path.exists(marker):
        shutil.rmtree(path, ignore_errors=True)
        t0 = time.monotonic()
        print(f"generating cache {name} ({repos} repos x {files} files) ...", flush=True)
        gencache.make_cache(path, repos, files, subdir_every=subdir_every)
        with open(marker, "w") as fh:
            fh.write(f"{time.monotonic() - t0:.1f}\n")
    return path
