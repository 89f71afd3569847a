"""Whether another user could open a file or search a folder, from its owner, mode bits and POSIX ACL.

Pure functions over what `stat` and the `system.posix_acl_access` extended attribute say, deciding as the
Linux kernel does (`acl_permission_check`, POSIX.1e): the owner's bits for the owner; else a named-user ACL
entry (masked); else, if any group of the user matches the owning group or a named-group entry, whether one
of the matching entries (masked) grants it; else the other bits. uid 0 may read and search everything.
Capabilities (CAP_DAC_READ_SEARCH) and LSMs (SELinux, AppArmor) are not modelled.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

READ, WRITE, EXEC = 4, 2, 1
#: The Linux xattr form of an access ACL: a version header, then (tag, perm, id) entries.
ACL_XATTR = "system.posix_acl_access"
_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


@dataclass(frozen=True)
class Who:
    """The user the web UI runs as: its uid, its primary gid (if known) and every group it has."""

    uid: int
    gids: frozenset[int] = frozenset()
    gid: int | None = None

    def __str__(self) -> str:
        gids = ",".join(str(g) for g in sorted(self.gids))
        return f"uid {self.uid}" + (f" gid {gids}" if gids else "")

    @property
    def owner(self) -> str:
        """What `chown` takes to give the user its files: `UID` or `UID:GID` (the primary group)."""
        return str(self.uid) if self.gid is None else f"{self.uid}:{self.gid}"


@dataclass(frozen=True)
class Acl:
    """An access ACL: the named users' and named groups' permissions, the owning group's and the mask."""

    users: tuple[tuple[int, int], ...] = ()
    groups: tuple[tuple[int, int], ...] = ()
    group_obj: int = 0
    mask: int | None = None


def parse_who(text: str) -> Who | None:
    """`UID`, `UID:GID` or `UID:GID,GID...` (whole numbers; the first group is the primary one, the others
    supplementary, e.g. a pod's fsGroup) -> Who; "" -> None; ValueError otherwise."""
    value = text.strip()
    if not value:
        return None
    uid, sep, groups = value.partition(":")
    gids = groups.split(",") if sep else []
    if not uid.isdigit() or not all(g.isdigit() for g in gids):
        raise ValueError(f"{text!r} is not UID, UID:GID or UID:GID,GID (whole numbers)")
    numbers = [int(g) for g in gids]
    return Who(int(uid), frozenset(numbers), numbers[0] if numbers else None)


def parse_acl(data: bytes) -> Acl | None:
    """The Linux xattr form of an access ACL; None when it is not one (or holds only the mode bits)."""
    if len(data) < 4 or (len(data) - 4) % 8 or struct.unpack_from("<I", data)[0] != _VERSION:
        return None
    users, groups, group_obj, mask = [], [], 0, None
    for off in range(4, len(data), 8):
        tag, perm, ident = struct.unpack_from("<HHI", data, off)
        if tag == _USER:
            users.append((ident, perm & 7))
        elif tag == _GROUP:
            groups.append((ident, perm & 7))
        elif tag == _GROUP_OBJ:
            group_obj = perm & 7
        elif tag == _MASK:
            mask = perm & 7
    if not users and not groups:
        return None  # a minimal ACL is the mode bits
    return Acl(tuple(users), tuple(groups), group_obj, mask)


def allowed(mode: int, uid: int, gid: int, acl: Acl | None, who: Who, want: int) -> bool:
    """Whether `who` has every permission bit of `want` (READ, EXEC) on an inode with this mode, owner, group
    and access ACL."""
    if who.uid == 0:
        return True
    if who.uid == uid:
        return (mode >> 6) & want == want
    if acl is None:
        if gid in who.gids:
            return (mode >> 3) & want == want
        return mode & want == want
    mask = 7 if acl.mask is None else acl.mask
    for ident, perm in acl.users:
        if ident == who.uid:
            return perm & mask & want == want
    matching = ([acl.group_obj] if gid in who.gids else []) + [p for i, p in acl.groups if i in who.gids]
    if matching:
        return any(p & mask & want == want for p in matching)
    return mode & want == want


def describe(mode: int, uid: int, gid: int, acl: Acl | None) -> str:
    """What decided it, for a person: `owner 0:0 mode 0600` (+ ` acl` when an ACL has named entries)."""
    return f"owner {uid}:{gid} mode {mode & 0o7777:04o}" + (" acl" if acl is not None else "")
