"""Which mount a root lives on, and whether that storage survives a restart. Pure parsing of
`/proc/self/mountinfo` (see proc(5)); the caller reads the file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

#: Filesystems whose content is lost when the container or host restarts.
EPHEMERAL_FSTYPES = {"tmpfs": "tmpfs", "ramfs": "ramfs", "overlay": "overlay", "aufs": "overlay"}
#: Filesystems where inotify misses changes made by other hosts, and statvfs can hang.
NETWORK_FSTYPES = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "afs", "virtiofs", "sshfs"}
)
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo."""

    mount_id: int
    major: int
    minor: int
    root: str
    mountpoint: str
    options: str
    fstype: str
    source: str
    super_options: str

    @property
    def readonly(self) -> bool:
        """Mounted read-only (per-mount or superblock option)."""
        return "ro" in self.options.split(",") or "ro" in self.super_options.split(",")

    @property
    def is_network(self) -> bool:
        """A network or FUSE filesystem (inotify is blind to remote changes)."""
        return self.fstype in NETWORK_FSTYPES or self.fstype.startswith("fuse")


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse mountinfo; malformed lines are skipped."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        a, b = left.split(), right.split()
        if not sep or len(a) < 6 or len(b) < 2:
            continue
        try:
            major, minor = (int(x) for x in a[2].split(":"))
            mounts.append(
                Mount(
                    int(a[0]),
                    major,
                    minor,
                    _unescape(a[3]),
                    _unescape(a[4]),
                    a[5],
                    b[0],
                    _unescape(b[1]),
                    b[2] if len(b) > 2 else "",
                )
            )
        except ValueError:
            continue
    return mounts


def find_mount(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding `path` (already resolved): the longest mountpoint prefix, last mounted wins."""
    best: Mount | None = None
    for m in mounts:
        mp = m.mountpoint
        inside = path == mp or path.startswith(mp.rstrip("/") + "/") or mp == "/"
        if inside and (best is None or len(mp) >= len(best.mountpoint)):
            best = m
    return best


def ephemeral_reason(mount: Mount | None) -> str:
    """Why data on this mount is lost on restart ('' when it persists).

    - `tmpfs`/`ramfs`: memory; `overlay`: a container's writable layer (no volume mounted);
    - `emptydir`: a Kubernetes emptyDir volume (lives as long as the pod).
    """
    if mount is None:
        return ""
    if mount.fstype in EPHEMERAL_FSTYPES:
        return EPHEMERAL_FSTYPES[mount.fstype]
    if "kubernetes.io~empty-dir" in mount.root:
        return "emptydir"
    return ""


def existing_ancestor(path: str) -> str:
    """`path` itself or its nearest existing parent (a missing root still has a disk under it)."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and path != os.path.dirname(path):
        path = os.path.dirname(path)
    return os.path.realpath(path)
