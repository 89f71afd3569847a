"""Profiles are data: tables of rules (prefilter, compiled regex, action). `Table` compiles the
rules of the profiles a log source uses into a dispatch structure, and `Table.parse` maps one
line (bytes) to the first rule that matches it: a pure function.

Speed comes from the prefilters (measurements.md §4): a rule is either anchored (`prefix`, or a
class of `first` bytes such as the digits of a timestamp), dispatched with one dict lookup on the
line's first byte and one on its first K bytes; or floating, behind a substring (`contains`) or an
ending (`suffix`) test. Regexes run only on lines that pass a prefilter. Anchored rules are tried
before floating ones, in declaration order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_KEY = 8


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

    __slots__ = ("action", "attrs", "groups", "name", "prefix", "profile", "regex", "rule")

    def __init__(self, rule: Rule, profile: int) -> None:
        self.rule = rule
        self.name = rule.name
        self.action = rule.action
        self.profile = profile
        self.prefix = rule.prefix.encode()
        self.regex = re.compile(rule.regex.encode())
        self.attrs = dict(rule.attrs)
        self.groups = frozenset(self.regex.groupindex)


Hit = tuple[Compiled, "re.Match[bytes]"]
Bucket = tuple[int, dict[bytes, tuple[Compiled, ...]], tuple[Compiled, ...]]


class Table:
    """The compiled dispatch structure for a list of profiles."""

    def __init__(self, profiles: Sequence[Profile]) -> None:
        self.profiles = tuple(p.name for p in profiles)
        self.hints = {(stage, file): repo for p in profiles for stage, file, repo in p.repo_hints}
        self.aliases = {label: repo for p in profiles for label, repo in p.aliases}
        prefixed: dict[int, list[Compiled]] = {}
        classed: dict[int, list[Compiled]] = {}
        floating: dict[tuple[bytes, bool], list[Compiled]] = {}
        self.rules: list[Compiled] = []
        for index, profile in enumerate(profiles):
            for rule in profile.rules:
                c = Compiled(rule, index)
                self.rules.append(c)
                if rule.prefix:
                    prefixed.setdefault(c.prefix[0], []).append(c)
                elif rule.first:
                    for byte in rule.first.encode():
                        classed.setdefault(byte, []).append(c)
                else:
                    key = (rule.suffix.encode(), True) if rule.suffix else (rule.contains.encode(), False)
                    floating.setdefault(key, []).append(c)
        self.by_first: dict[int, Bucket] = {}
        for byte in set(prefixed) | set(classed):
            rules = prefixed.get(byte, [])
            k = min([MAX_KEY, *(len(c.prefix) for c in rules)])
            sub: dict[bytes, list[Compiled]] = {}
            for c in rules:
                sub.setdefault(c.prefix[:k], []).append(c)
            self.by_first[byte] = (k, {key: tuple(v) for key, v in sub.items()}, tuple(classed.get(byte, [])))
        self.floating = tuple((lit, suffix, tuple(rules)) for (lit, suffix), rules in floating.items())

    def parse(self, line: bytes) -> Hit | None:
        """The first rule matching a non-empty line, with its match; None when no rule does."""
        bucket = self.by_first.get(line[0])
        if bucket is not None:
            k, sub, classed = bucket
            for c in sub.get(line[:k], ()):
                if line.startswith(c.prefix):
                    m = c.regex.match(line)
                    if m is not None:
                        return c, m
            for c in classed:
                m = c.regex.match(line)
                if m is not None:
                    return c, m
        for lit, suffix, rules in self.floating:
            if line.endswith(lit) if suffix else lit in line:
                for c in rules:
                    m = c.regex.search(line)
                    if m is not None:
                        return c, m
        return None
