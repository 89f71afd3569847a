"""The command line's parser: flags generated from the settings (config/flags.py), kingpin-style names."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any, NoReturn

from modelcache_exporter import __version__
from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.config.flags import Config, settings
from modelcache_exporter.config.load import load_config

PROG = "modelcache-exporter"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}; see '{PROG} --help'")


def build_parser() -> argparse.ArgumentParser:
    """Flags generated from the settings, all defaulting to 'not given' (so precedence can apply)."""
    p = _Parser(
        prog=PROG,
        description="Prometheus exporter for model caches (Hugging Face hub, local dirs, "
        "ModelScope): sizes, disk health, IO latency, downloads.",
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    for f in settings():
        flag, kind, help_text = f.metadata["flag"], f.metadata["kind"], f.metadata["help"]
        default = f.default if kind != "paths" else "discovered"
        env = "MODELCACHE_" + flag.upper().replace(".", "_").replace("-", "_")
        text = f"{help_text} (default: {default!s}; env {env})"
        if kind == "bool":
            p.add_argument(f"--{flag}", dest=flag, action=argparse.BooleanOptionalAction, help=text)
        elif kind == "paths":
            p.add_argument(f"--{flag}", dest=flag, action="append", metavar="PATH", help=text)
        else:
            p.add_argument(f"--{flag}", dest=flag, metavar=kind.upper(), help=text)
    return p


def parse(argv: Sequence[str], environ: dict[str, str] | None = None) -> Config:
    """Flags + environment + file -> Config (ConfigError on any problem)."""
    flags: dict[str, Any] = vars(build_parser().parse_args(list(argv)))
    return load_config(flags, dict(os.environ) if environ is None else environ)
