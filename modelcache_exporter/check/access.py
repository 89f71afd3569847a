"""Can `check` look at a root at all? And roots given twice (the same folder by two paths) are looked at once.

A root that does not exist, is not a folder, or cannot be listed and searched says nothing about the models
it should hold: `check` reports it as such (and fails) rather than as an empty cache.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from modelcache_exporter.base.rootconfig import RootConfig

#: `state` values: `ok`; `missing` (nothing there); `not_a_folder`; `unreadable` (there, but cannot be seen).
STATES = ("ok", "missing", "not_a_folder", "unreadable")


@dataclass(frozen=True)
class Access:
    """Whether a root can be looked at, and if not, why, in words: `reason` a whole phrase ('cannot be read:
    Permission denied (as user root, uid 0)'), `detail` its particulars ('Permission denied, as user ...')."""

    state: str
    reason: str = ""
    detail: str = ""


def whoami() -> str:
    """The user `check` runs as, as permission errors depend on it."""
    uid = os.geteuid()
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name}, uid {uid}"
    except (ImportError, KeyError):
        return f"uid {uid}"


def cannot_read(exc: OSError) -> Access:
    """'cannot be read: Permission denied (as user ...)'."""
    detail = f"{exc.strerror or exc}, as user {whoami()}"
    return Access("unreadable", f"cannot be read ({detail})", detail)


def root_access(path: str) -> Access:
    """Exists, is a folder, can be listed and searched (`x`: stat of `path/.`)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            detail = f"a link to {os.readlink(path)}, which does not exist"
            return Access("missing", f"does not exist ({detail})", detail)
        return Access("missing", "does not exist")
    except NotADirectoryError:
        return Access("not_a_folder", "is not a folder (a path above it is a file)", "a path above it is a file")
    except OSError as exc:
        return cannot_read(exc)
    if not stat.S_ISDIR(st.st_mode):
        kind = "a regular file" if stat.S_ISREG(st.st_mode) else "a special file"
        return Access("not_a_folder", f"is not a folder ({kind})", kind)
    try:
        with os.scandir(path) as it:
            next(it, None)
        os.stat(os.path.join(path, "."))  # searching the folder needs its x bit
    except OSError as exc:
        return cannot_read(exc)
    return Access("ok")


def unique_roots(roots: Sequence[RootConfig]) -> tuple[list[RootConfig], dict[str, str], list[str]]:
    """Roots without repeats of one folder (by real path): the roots kept, {dropped name: kept name}, and one
    note per dropped root."""
    kept: dict[str, RootConfig] = {}
    alias: dict[str, str] = {}
    notes: list[str] = []
    for r in roots:
        real = os.path.realpath(r.path)
        first = kept.get(real)
        if first is None:
            kept[real] = r
            continue
        alias[r.name] = first.name
        same = "" if r.path == first.path else f" ({r.path} is {first.path})"
        notes.append(f"root {first.path} is given twice{same}: checked once, as {first.name}")
    return list(kept.values()), alias, notes
