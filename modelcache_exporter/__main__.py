"""`python -m modelcache_exporter`, and the console script's entry point (`run`).

Light on purpose: a spawned worker process imports the main module again, and must not pay for the whole
exporter (prometheus_client, the web layer) before it can scan.
"""

import sys


def run() -> int:
    """Run the command line (imported only here)."""
    from modelcache_exporter.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
