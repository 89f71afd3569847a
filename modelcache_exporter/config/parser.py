"""The command line's parser: flags generated from the settings (config/flags.py), kingpin-style names and
manners: `--help` lists the commands, then one line a flag grouped by section; an unknown flag is answered
with the closest known one; every mistake is one ConfigError line (exit code 2 in cli.py)."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from modelcache_exporter import __version__
from modelcache_exporter.base.values import ConfigError, quoted
from modelcache_exporter.config import helpformat, helptext
from modelcache_exporter.config.flags import Config, settings
from modelcache_exporter.config.load import load_config

PROG = "modelcache-exporter"
DESCRIPTION = (
    "Prometheus exporter for model caches (Hugging Face hub, local dirs, ModelScope): sizes, disk health, "
    "IO latency, downloads."
)
COMMANDS = (
    ("check", f"Print one report of the cache roots, models and required models, and exit ('{PROG} check --help')."),
)


class _Parser(argparse.ArgumentParser):
    """argparse with kingpin's manners (see the module). Arguments added with `add_argument` beyond the
    settings (`--help`, `--version`, a command's own) are listed first, under "Flags"."""

    def __init__(self, prog: str, description: str) -> None:
        super().__init__(
            prog=prog,
            description=description,
            add_help=False,
            allow_abbrev=False,  # a shortened or mistyped flag is an error with a suggestion, never a guess
            argument_default=argparse.SUPPRESS,
            exit_on_error=False,
        )
        self.own: list[argparse.Action] = []  # every action, in order (argparse keeps its list private)
        self.from_settings: set[str] = set()  # dests of the actions generated from the settings

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.own.append(action)
        return action

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        """The flags given; ConfigError naming the flag and a good value for any mistake."""
        try:
            ns, extra = self.parse_known_args(args, namespace)
        except argparse.ArgumentError as exc:
            raise ConfigError(self._explain(exc)) from None
        if extra:
            raise ConfigError(self._unknown(extra[0]))
        return ns

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}; see '{self.prog} --help'")

    def format_help(self) -> str:
        commands = COMMANDS if self.prog == PROG else ()
        extras = [a for a in self.own if a.dest not in self.from_settings]
        return helpformat.render(self.prog, self.description or "", commands, extras, self.epilog or "")

    def _action(self, option: str) -> argparse.Action | None:
        return next((a for a in self.own if option in a.option_strings), None)

    def _explain(self, exc: argparse.ArgumentError) -> str:
        """argparse's complaint about one flag, as the flag and the fix."""
        flag = (exc.argument_name or "").split("/")[0]
        action, message = self._action(flag), exc.message
        good = _example_for(action, flag) if action is not None else ""
        if message.startswith("expected one argument"):
            return f"{flag} needs a value (example: {good})"
        if message.startswith("ignored explicit argument"):
            negated = [o for o in (action.option_strings if action else ()) if o != flag]
            alone = f"{flag} or {negated[0]}" if negated else f"{flag} alone"
            return f"{flag} takes no value; give {alone}"
        if message.startswith("invalid choice") and action is not None and action.choices:
            value = message.split(": ", 1)[1].split(" (choose", 1)[0].strip("'")
            return f"{flag}: {quoted(value)} is not one of {', '.join(map(str, action.choices))} (example: {good})"
        return f"{flag}: {message}; see '{self.prog} --help'"

    def _unknown(self, arg: str) -> str:
        """An argument no flag takes: the closest flag (or command) when there is one."""
        if not arg.startswith("-"):
            names = [name for name, _ in COMMANDS]
            if arg in names:
                return f"unexpected argument {quoted(arg)}; a command comes first: {PROG} {arg} [<flags>]"
            near = difflib.get_close_matches(arg, names, n=1) if self.prog == PROG else []
            hint = f"did you mean the command {near[0]}?" if near else f"see '{self.prog} --help'"
            return f"unexpected argument {quoted(arg)}; {hint}"
        name = arg.split("=", 1)[0]
        options = [o for a in self.own for o in a.option_strings]
        near = difflib.get_close_matches(name, options, n=1)
        return f"unknown flag {name}; " + (f"did you mean {near[0]}?" if near else f"see '{self.prog} --help'")


def _example_for(action: argparse.Action, flag: str) -> str:
    """`--flag=VALUE` with a good value for the flag's action (a setting's default, a choice, the placeholder)."""
    setting = next((f for f in settings() if f.metadata["flag"] == action.dest), None)
    if setting is not None:
        return helptext.example(setting, flag)
    if action.choices:
        return f"{flag}={next(iter(action.choices))}"
    return f"{flag}={action.metavar or action.dest.upper()}"


def build_parser(prog: str = PROG, description: str = DESCRIPTION) -> argparse.ArgumentParser:
    """Flags generated from the settings, all defaulting to 'not given' (so precedence can apply)."""
    p = _Parser(prog, description)
    p.add_argument("-h", "--help", action="help", help="Show this help and exit.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}", help="Show the version and exit.")
    for f in settings():
        flag, kind, help_text = f.metadata["flag"], f.metadata["kind"], f.metadata["help"]
        if kind == "bool":
            p.add_argument(f"--{flag}", dest=flag, action=argparse.BooleanOptionalAction, help=help_text)
        elif kind == "paths":
            p.add_argument(f"--{flag}", dest=flag, action="append", metavar="PATH", help=help_text)
        else:
            p.add_argument(f"--{flag}", dest=flag, metavar=kind.upper(), help=help_text)
        p.from_settings.add(flag)
    return p


def fail(exc: ConfigError) -> int:
    """Print a configuration error as its one line and return exit code 2."""
    print(f"{PROG}: error: {exc}", file=sys.stderr)
    return 2


def parse(argv: Sequence[str], environ: dict[str, str] | None = None) -> Config:
    """Flags + environment + file -> Config (ConfigError on any problem)."""
    flags: dict[str, Any] = vars(build_parser().parse_args(list(argv)))
    return load_config(flags, dict(os.environ) if environ is None else environ)
