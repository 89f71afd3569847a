"""`--help` as text, in kingpin's shape: the usage lines, the description, the commands, the flags of the
command itself, then every setting grouped by section, one line each: flag, help, default and variable."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from modelcache_exporter.config import helptext
from modelcache_exporter.config.flags import settings

Row = tuple[str, str]


def _action_row(action: argparse.Action) -> Row:
    """A flag that is not a setting (`--help`, `--version`, a command's own): its options, help and default."""
    options = ", ".join(action.option_strings)
    if action.nargs != 0:  # --help, --version and switches take no value
        value = "|".join(map(str, action.choices)) if action.choices else (action.metavar or action.dest.upper())
        options = f"{options}={value}"
    text = action.help if action.help and action.help != argparse.SUPPRESS else ""
    default = action.default
    if action.nargs != 0 and default not in (None, "", argparse.SUPPRESS):
        text = f"{text} (default: {default})".strip()
    return options, text


def setting_sections() -> list[tuple[str, list[Row]]]:
    """Each help section's title and its settings' rows, in the order the settings are declared."""
    sections: dict[str, list[Row]] = {}
    for f in settings():
        row = (helptext.flag_text(f), f"{f.metadata['help']} {helptext.notes(f)}")
        sections.setdefault(helptext.group_of(f), []).append(row)
    return [(helptext.TITLES.get(group, group), rows) for group, rows in sections.items()]


def _rows(rows: Sequence[Row], width: int) -> list[str]:
    return [f"  {left:<{width}}  {right}".rstrip() for left, right in rows]


def render(prog: str, description: str, commands: Sequence[Row], extras: Sequence[argparse.Action], epilog: str) -> str:
    """The whole `--help` text of `prog` (the exporter, or one of its commands)."""
    lines = [f"usage: {prog} [<flags>]"]
    lines += [f"       {prog} {name} [<flags>]" for name, _ in commands]
    if description:
        lines += ["", description]
    if commands:
        lines += ["", "Commands:", *_rows(commands, max(len(name) for name, _ in commands))]
    sections = [("Flags", [_action_row(a) for a in extras]), *setting_sections()]
    width = max(len(left) for _, rows in sections for left, _ in rows)
    for title, rows in sections:
        if rows:
            lines += ["", f"{title}:", *_rows(rows, width)]
    if epilog:
        lines += ["", epilog]
    return "\n".join(lines) + "\n"
