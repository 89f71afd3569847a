"""Per-operation disk latency from the kernel's block statistics (`/proc/diskstats`, see
Documentation/admin-guide/iostats.rst), for the block device under each root.

A mount maps to a device through its major:minor (`/sys/dev/block/M:m`), or through its source
(`/dev/mapper/...`) when the major is 0. Partitions and device-mapper devices have their own line
in diskstats; the disks behind them are reported too. Overlay, tmpfs and network filesystems have
no block device: they are reported as unknown, never guessed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from modelcache_exporter.fshealth.fsinfo import Mount


@dataclass(frozen=True)
class DiskStat:
    """Cumulative counters of one block device (times in seconds)."""

    reads: int
    read_seconds: float
    read_bytes: int
    writes: int
    write_seconds: float
    written_bytes: int
    in_progress: int
    io_seconds: float
    weighted_io_seconds: float


def parse_diskstats(text: str) -> dict[str, DiskStat]:
    """`/proc/diskstats` -> {device name: counters}; short or malformed lines are skipped."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 14:
            continue
        try:
            n = [int(x) for x in f[3:14]]
        except ValueError:
            continue
        out[f[2]] = DiskStat(
            reads=n[0],
            read_seconds=n[3] / 1000,
            read_bytes=n[2] * 512,
            writes=n[4],
            write_seconds=n[7] / 1000,
            written_bytes=n[6] * 512,
            in_progress=n[8],
            io_seconds=n[9] / 1000,
            weighted_io_seconds=n[10] / 1000,
        )
    return out


def _block_name(sysfs: str, mount: Mount) -> str | None:
    if mount.major != 0:
        link = os.path.join(sysfs, "dev", "block", f"{mount.major}:{mount.minor}")
        if os.path.exists(link):
            return os.path.basename(os.path.realpath(link))
    if mount.source.startswith("/dev/") and os.path.exists(mount.source):
        name = os.path.basename(os.path.realpath(mount.source))
        if os.path.exists(os.path.join(sysfs, "class", "block", name)):
            return name
    return None


def backing_disks(sysfs: str, name: str, depth: int = 0) -> tuple[str, ...]:
    """Whole disks under a device: the parent of a partition, the slaves of a device-mapper device."""
    node = os.path.realpath(os.path.join(sysfs, "class", "block", name))
    if os.path.exists(os.path.join(node, "partition")):
        return (os.path.basename(os.path.dirname(node)),)
    slaves_dir = os.path.join(node, "slaves")
    try:
        slaves = sorted(os.listdir(slaves_dir))
    except OSError:
        slaves = []
    if slaves and depth < 8:
        return tuple(sorted({d for s in slaves for d in backing_disks(sysfs, s, depth + 1)}))
    return (name,)


def device_for_mount(sysfs: str, mount: Mount | None) -> tuple[str, tuple[str, ...]] | None:
    """(device with its own diskstats line, backing disks), or None when there is no block device."""
    if mount is None or mount.is_network or mount.fstype in ("tmpfs", "ramfs", "overlay", "proc", "sysfs"):
        return None
    name = _block_name(sysfs, mount)
    if name is None:
        return None
    return name, backing_disks(sysfs, name)
