"""`modelcache-exporter check`: one exact look at every cache root, for people, CI and container start-up.

Prints each root (layout, storage verdict, models and sizes, problems by repo, downloads in progress), the
required models (and where it looked for those not found), and the ledger's download history; `--format
json` for machines. It reads the caches and the ledger; it writes nothing. Exit status: see `EPILOG`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, cast

from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.check.report import report
from modelcache_exporter.config.load import load_config
from modelcache_exporter.config.parser import PROG, build_parser, fail

DESCRIPTION = (
    "Look once at every cache root and say whether the next start of the model server will find its models or\n"
    "download them again: each root's layout, storage (persistent or lost on restart), models, sizes and\n"
    "problems by repo, downloads in progress, the required models, the download history. Reads, never writes.\n"
    "Takes the exporter's flags, environment and configuration file (the same roots and required models)."
)
EPILOG = """exit status:
  0  OK: every root could be read and every required model is complete
  1  not OK, each reason on the RESULT line (and in "failures" with --format json); with --verify: a file whose
     content does not match its hash (each named on a CORRUPT line):
     a root does not exist, is not a folder or cannot be read; part of a root cannot be read (permission);
     a required model is missing, incomplete, unreadable or still being downloaded;
     with --collector.required.readable-by=UID[:GID], a model that user cannot read (on an UNREADABLE line);
     with --fail-on-ephemeral, a root on storage lost at restart (tmpfs, a container's overlay, an emptyDir)
  2  invalid configuration or usage (one line on stderr)
  A closed output (check | head -1) ends quietly with the same status: the verdict does not depend on who reads.

examples:
  modelcache-exporter check --collector.required.profile=indextts2
  modelcache-exporter check --path.cache /models/hub --format json --fail-on-ephemeral"""


def parser() -> argparse.ArgumentParser:
    """The exporter's parser (same flags), with the check's own description, options and exit codes."""
    p = build_parser()
    p.prog, p.description, p.epilog = f"{PROG} check", DESCRIPTION, EPILOG
    base = cast(type, p.formatter_class)  # the exporter's help style for the flags, the texts here as written
    if not issubclass(base, argparse.RawDescriptionHelpFormatter):
        p.formatter_class = cast(Any, type("CheckHelp", (argparse.RawDescriptionHelpFormatter, base), {}))
    p.add_argument(
        "--format",
        dest="check.format",
        choices=["text", "json"],
        default="text",
        help="text for people, json for machines (the same report)",
    )
    p.add_argument(
        "--fail-on-ephemeral",
        dest="check.ephemeral",
        action="store_true",
        default=False,
        help="also exit 1 when a root is on storage lost at restart (default: only reported)",
    )
    p.add_argument(
        "--verify",
        dest="check.verify",
        action="store_true",
        default=False,
        help="hash every file named by its hash (hub blobs, local-dir etags) now; name each corrupt one; exit 1 if any",
    )
    p.add_argument(
        "--verify-only",
        dest="check.verify_only",
        default="",
        metavar="REPO",
        help="with or without --verify: verify only this repo (org/name, or a model's key)",
    )
    return p


def emit(text: str) -> None:
    """Write the report; a reader that went away (EPIPE) ends the output quietly, without a traceback."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again


def main(argv: Sequence[str]) -> int:
    """Entry point of `modelcache-exporter check`."""
    try:
        flags = vars(parser().parse_args(list(argv)))
        fmt, ephemeral = flags.pop("check.format"), flags.pop("check.ephemeral")
        verify, only = flags.pop("check.verify"), flags.pop("check.verify_only")
        cfg = load_config(flags, dict(os.environ))
    except ConfigError as exc:
        return fail(exc)
    if verify or only:
        from modelcache_exporter.check.verify import run_verify

        return run_verify(cfg, only)
    doc, status = report(cfg, ephemeral)
    if fmt == "json":
        emit(json.dumps(doc, indent=2, sort_keys=True))
    else:
        from modelcache_exporter.check.text import render

        emit(render(doc))
    return status
