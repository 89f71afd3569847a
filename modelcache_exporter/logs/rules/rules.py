"""Profiles are data: tables of rules (prefilter, compiled regex, action). `Table` compiles the
rules of the profiles a log source uses into a dispatch structure, and `Table.parse` maps one
line (bytes) to the first rule that matches it: a pure function.

Speed comes from the prefilters (measurements.md §4): a rule is either anchored (`prefix`, or a
class of `first` bytes such as the digits of a timestamp), found with one dict lookup on the
line's first KEY bytes (or its first byte); or floating, behind a substring (`contains`) or an
ending (`suffix`) test. Regexes run only on lines that pass a prefilter. Anchored rules are tried
before floating ones, in declaration order. `slow_lines` finds, per chunk and in C, the few lines
that need the floating tests at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

KEY = 8


@dataclass(frozen=True)
class Rule:
    """One line pattern of a profile.

    Attributes:
        name: unique within the profile (tests and debugging).
        action: what a match means (see `interpret.ACTIONS`).
        regex: the pattern (bytes regex source); anchored rules use `match`, floating ones `search`.
        prefix: the line starts with this literal (anchored rule).
        first: the line's first byte is one of these characters (anchored rule, e.g. digits).
        contains: the line contains this literal (floating rule).
        suffix: the line ends with this literal (floating rule).
        attrs: fixed facts of a match: stage, error (kind), source, repo, base (1000 or 1024).
    """

    name: str
    action: str
    regex: str
    prefix: str = ""
    first: str = ""
    contains: str = ""
    suffix: str = ""
    attrs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Profile:
    """A named set of rules, the stages it can report, and data that attributes downloads to repos.

    `repo_hints` are (last stage or "", file name, repo id): a download bar whose log names only a
    file is attributed by the stage that was loading. `aliases` map a label the app prints to a repo.
    """

    name: str
    rules: tuple[Rule, ...]
    stages: tuple[str, ...] = ()
    repo_hints: tuple[tuple[str, str, str], ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()


class Compiled:
    """A rule ready to run: compiled regex, profile index, attributes as a dict."""

    __slots__ = (
        "action",
        "attrs",
        "base",
        "groups",
        "has_total",
        "has_ts",
        "literal",
        "name",
        "noop",
        "prefix",
        "profile",
        "regex",
        "rule",
        "source",
    )

    def __init__(self, rule: Rule, profile: int) -> None:
        self.rule = rule
        self.name = rule.name
        self.action = rule.action
        self.profile = profile
        self.prefix = rule.prefix.encode()
        self.regex = re.compile(rule.regex.encode())
        self.attrs = dict(rule.attrs)
        self.groups = frozenset(self.regex.groupindex)
        self.source = self.attrs.get("source", "")
        self.base = int(self.attrs.get("base", "1000"))
        self.has_total = "total" in self.groups
        self.has_ts = "ts" in self.groups
        self.noop = rule.action == "info"
        self.literal = not rule.regex and bool(rule.prefix)


Hit = tuple[Compiled, "re.Match[bytes]"]
EMPTY = re.compile(b"").match(b"")  # the match of a prefix-only rule (it has no groups)
assert EMPTY is not None


class Table:
    """The compiled dispatch structure for a list of profiles.

    `long` maps the first KEY bytes of a line to the anchored rules it may match (rules with a
    shorter prefix or a first-byte class merged in, declaration order kept); `short` maps a first
    byte to those shorter rules, for lines whose first KEY bytes are no long key. `needles` are the
    literals that mark a line for the slow path: `\\r`, ESC, and each floating rule's literal (a
    suffix rule's literal anywhere in the line; the slow path then tests the ending). Anchored
    regexes that end with `$` allow trailing blanks, which the fast path does not strip.
    """

    def __init__(self, profiles: Sequence[Profile]) -> None:
        self.profiles = tuple(p.name for p in profiles)
        self.hints = {(stage, file): repo for p in profiles for stage, file, repo in p.repo_hints}
        self.aliases = {label: repo for p in profiles for label, repo in p.aliases}
        long: dict[bytes, list[Compiled]] = {}
        short: dict[int, list[Compiled]] = {}
        floating: dict[tuple[bytes, bool], list[Compiled]] = {}
        self.rules: list[Compiled] = []
        for index, profile in enumerate(profiles):
            for rule in profile.rules:
                c = Compiled(rule, index)
                self.rules.append(c)
                if len(c.prefix) >= KEY:
                    long.setdefault(c.prefix[:KEY], []).append(c)
                elif c.prefix or rule.first:
                    for byte in c.prefix[:1] or rule.first.encode():
                        short.setdefault(byte, []).append(c)
                else:
                    key = (rule.suffix.encode(), True) if rule.suffix else (rule.contains.encode(), False)
                    floating.setdefault(key, []).append(c)
        order = {id(c): i for i, c in enumerate(self.rules)}
        self.long = {k: tuple(sorted(v + short.get(k[0], []), key=lambda c: order[id(c)])) for k, v in long.items()}
        self.short = {k: tuple(v) for k, v in short.items()}
        self.floating = tuple((lit, suffix, tuple(rules)) for (lit, suffix), rules in floating.items())
        self.needles = (b"\r", b"\x1b", *sorted({lit for lit, _, _ in self.floating}))

    def parse(self, line: bytes) -> Hit | None:
        """The first rule matching a non-empty line, with its match; None when no rule does."""
        rules = self.long.get(line[:KEY])
        for c in self.short.get(line[0], ()) if rules is None else rules:
            if line.startswith(c.prefix):
                m = EMPTY if c.literal else c.regex.match(line)
                if m is not None:
                    return c, m
        for lit, suffix, floating in self.floating:
            if line.endswith(lit) if suffix else lit in line:
                for c in floating:
                    m = c.regex.search(line)
                    if m is not None:
                        return c, m
        return None

    def slow_lines(self, lines: list[bytes]) -> set[int]:
        """Indices of the lines that need more than the anchored lookup: those holding a needle,
        and the last one (no `\\n` follows it in the joined text). Found with `bytes.find`."""
        if b"" in self.needles:
            return set(range(len(lines)))
        blob = b"\n".join(lines)
        hits = []
        for needle in self.needles:
            at = blob.find(needle)
            while at >= 0:
                hits.append(at)
                at = blob.find(b"\n", at + len(needle) - 1)  # one hit per line is enough
                at = blob.find(needle, at + 1) if at >= 0 else -1
        out, index, previous = {len(lines) - 1}, 0, 0
        for at in sorted(hits):
            index += blob.count(b"\n", previous, at)
            previous = at
            out.add(index)
        return out
