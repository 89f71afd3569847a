"""`python -m mixin`: regenerate the alert rules (alerts/) and the dashboards (dashboards/), or --check them.

For your own deployment, regenerate the rules with your scrape job and runbook location:

    python -m mixin --only alerts --selector 'job="mc",env="prod"' \\
        --runbook-url https://wiki.example.com/modelcache/RUNBOOK.md --alerts-dir ./my-rules
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mixin import alerts, dashboards
from mixin.config import ALERTS_DIR, DASHBOARDS_DIR, RUNBOOK_URL, SELECTOR
from mixin.write import write_or_check

COMMAND = "python -m mixin"


def parser() -> argparse.ArgumentParser:
    """The command line: the old generators' options, for both outputs."""
    p = argparse.ArgumentParser(prog=COMMAND, description=(__doc__ or "").splitlines()[0])
    p.add_argument("--selector", default=SELECTOR, help=f"matchers of every alert selector (default: {SELECTOR})")
    p.add_argument("--runbook-url", default=RUNBOOK_URL, help="URL of RUNBOOK.md (default: the project's)")
    p.add_argument("--out-dir", type=Path, help="write to OUT_DIR/alerts and OUT_DIR/dashboards")
    p.add_argument("--alerts-dir", type=Path, help="where the rule files go (default: alerts/)")
    p.add_argument("--dashboards-dir", type=Path, help="where the dashboards go (default: dashboards/)")
    p.add_argument("--only", choices=("alerts", "dashboards"), help="generate only these")
    p.add_argument("--check", action="store_true", help="exit 1 if a file differs from a fresh generation")
    return p


def files(args: argparse.Namespace) -> dict[Path, str]:
    """{path: text} of every file the arguments ask for."""
    base = args.out_dir
    alerts_dir = args.alerts_dir or (base / "alerts" if base else ALERTS_DIR)
    dashboards_dir = args.dashboards_dir or (base / "dashboards" if base else DASHBOARDS_DIR)
    out: dict[Path, str] = {}
    if args.only in (None, "alerts"):
        rendered = alerts.render(args.selector, args.runbook_url.rstrip("#"))
        out.update({alerts_dir / name: text for name, text in rendered.items()})
    if args.only in (None, "dashboards"):
        out.update({dashboards_dir / name: text for name, text in dashboards.render().items()})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, compare) the generated files."""
    args = parser().parse_args(argv)
    return write_or_check(files(args), args.check, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
