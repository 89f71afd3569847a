"""Pure parsing of mountinfo and diskstats, and the mount -> block device mapping through a fake sysfs."""

from __future__ import annotations

import os
from pathlib import Path

from modelcache_exporter.fshealth.diskstats import device_for_mount, parse_diskstats
from modelcache_exporter.fshealth.fsinfo import ephemeral_reason, find_mount, parse_mountinfo

MOUNTINFO = """\
22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
30 22 8:1 /var/lib/docker/volumes/hf/_data /root/.cache/huggingface rw,relatime - ext4 /dev/sda1 rw
31 22 0:45 / /tmp rw,nosuid - tmpfs tmpfs rw,size=65536k
32 22 8:1 /var/lib/kubelet/pods/ab/volumes/kubernetes.io~empty-dir/cache /models rw - ext4 /dev/sda1 rw
33 22 253:0 / /data\\040dir ro,relatime - xfs /dev/mapper/vg-data rw
34 22 0:50 / /mnt/nfs rw - nfs4 server:/export rw,vers=4.2
malformed line
"""


def test_mountinfo_and_storage_classes() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert len(mounts) == 6

    def at(path: str) -> tuple[str, str]:
        m = find_mount(path, mounts)
        assert m is not None
        return m.mountpoint, ephemeral_reason(m)

    assert at("/app/checkpoints") == ("/", "overlay")  # container layer: lost with the container
    assert at("/root/.cache/huggingface/hub") == ("/root/.cache/huggingface", "")  # a named volume persists
    assert at("/tmp/x") == ("/tmp", "tmpfs")
    assert at("/models/hub") == ("/models", "emptydir")
    assert at("/data dir/hub") == ("/data dir", "")
    m = find_mount("/data dir/hub", mounts)
    assert m is not None and m.readonly and m.source == "/dev/mapper/vg-data"
    nfs = find_mount("/mnt/nfs/x", mounts)
    assert nfs is not None and nfs.is_network and not find_mount("/", mounts).is_network  # type: ignore[union-attr]


DISKSTATS = """\
   8       0 sda 100 5 2000 40 200 10 4000 300 0 250 340 0 0 0 0 0 0
   8       1 sda1 90 5 1800 35 190 10 3900 290 1 240 325 0 0 0 0
 253       0 dm-0 50 0 800 20 60 0 1200 90 0 100 110
 short line
"""


def test_diskstats_parsing() -> None:
    stats = parse_diskstats(DISKSTATS)
    assert set(stats) == {"sda", "sda1", "dm-0"}
    assert stats["sda1"].reads == 90 and stats["sda1"].read_seconds == 0.035
    assert stats["sda1"].read_bytes == 1800 * 512 and stats["sda1"].in_progress == 1
    assert stats["dm-0"].weighted_io_seconds == 0.11


def _fake_sysfs(top: Path) -> Path:
    dev = top / "devices" / "pci0" / "block" / "sda"
    (dev / "sda1").mkdir(parents=True)
    (dev / "sda1" / "partition").write_text("1\n")
    (dev / "sda2").mkdir()
    (dev / "sda2" / "partition").write_text("2\n")
    dm = top / "devices" / "virtual" / "block" / "dm-0"
    (dm / "slaves").mkdir(parents=True)
    os.symlink(dev / "sda2", dm / "slaves" / "sda2")
    (top / "class" / "block").mkdir(parents=True)
    (top / "dev" / "block").mkdir(parents=True)
    for name, node, majmin in (
        ("sda", dev, "8:0"),
        ("sda1", dev / "sda1", "8:1"),
        ("sda2", dev / "sda2", "8:2"),
        ("dm-0", dm, "253:0"),
    ):
        os.symlink(node, top / "class" / "block" / name)
        os.symlink(node, top / "dev" / "block" / majmin)
    return top


def test_device_mapping_through_partitions_and_device_mapper(tmp_path: Path) -> None:
    sysfs = str(_fake_sysfs(tmp_path / "sys"))
    mounts = {m.mountpoint: m for m in parse_mountinfo(MOUNTINFO)}
    assert device_for_mount(sysfs, mounts["/root/.cache/huggingface"]) == ("sda1", ("sda",))
    assert device_for_mount(sysfs, mounts["/data dir"]) == ("dm-0", ("sda",))
    assert device_for_mount(sysfs, mounts["/"]) is None  # overlay: unknown, not guessed
    assert device_for_mount(sysfs, mounts["/tmp"]) is None
    assert device_for_mount(sysfs, mounts["/mnt/nfs"]) is None
