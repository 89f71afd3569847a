"""Readable by the web UI's user (`--collector.required.readable-by`): the verdict agrees with the kernel on real
files (mode bits, owners, groups, POSIX ACLs, folders), and on a cache the real huggingface_hub client wrote a
root-only blob of a required model is counted on /metrics, named by `check` with its fix (exit 1), and pages
through the shipped rule; once readable again, 0 and exit 0."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakehub import FakeHub, run_download
from pages import Timeline, used_metrics
from test_check import check
from test_ledger import FAST, FILES

from modelcache_exporter.access.perms import EXEC, READ, Acl, Who, allowed, parse_acl, parse_who
from modelcache_exporter.access.walk import Walker

UID, GID = 4242, 4242
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="chown and setpriv need root")


def _acl(*entries: tuple[int, int, int]) -> bytes:
    """The xattr form of an access ACL: (tag, perm, id) entries, in the kernel's order."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in sorted(entries))


ANY = 0xFFFFFFFF
#: name -> (owner uid, gid, mode, ACL entries beyond the mode bits: (tag, perm, id)), a file in a 755 folder
FILES_CASES: dict[str, tuple[int, int, int, tuple[tuple[int, int, int], ...]]] = {
    "root600": (0, 0, 0o600, ()),
    "root644": (0, 0, 0o644, ()),
    "group640": (0, GID, 0o640, ()),
    "othergroup640": (0, 9999, 0o640, ()),
    "own000": (UID, GID, 0o000, ()),
    "own400": (UID, 0, 0o400, ()),
    "acl_user": (0, 0, 0o600, ((0x02, 4, UID), (0x10, 4, ANY))),
    "acl_user_masked": (0, 0, 0o600, ((0x02, 4, UID), (0x10, 0, ANY))),
    "acl_group": (0, 0, 0o600, ((0x08, 4, GID), (0x10, 4, ANY))),
    "acl_group_none": (0, GID, 0o640, ((0x08, 0, 7777), (0x10, 4, ANY))),
    "acl_other_user": (0, 0, 0o604, ((0x02, 4, 7777), (0x10, 4, ANY))),
    "acl_named_user_denied": (0, 0, 0o604, ((0x02, 0, UID), (0x10, 4, ANY))),
}


def _set(path: Path, uid: int, gid: int, mode: int, extra: tuple[tuple[int, int, int], ...]) -> None:
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    if extra:
        base = ((0x01, (mode >> 6) & 7, ANY), (0x04, (mode >> 3) & 7, ANY), (0x20, mode & 7, ANY))
        os.setxattr(path, "system.posix_acl_access", _acl(*base, *extra))


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user may pass through (pytest's own tmp_path is root-only)."""
    d = Path(tempfile.mkdtemp(prefix="readable-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


def _kernel_opens(paths: list[Path]) -> list[bool]:
    """What the kernel lets uid UID (group GID only) do: read each file, list and enter each folder."""
    script = (
        'for p; do if [ -d "$p" ]; then (cd "$p" && ls >/dev/null) 2>/dev/null; '
        'else cat "$p" >/dev/null 2>&1; fi; echo $?; done'
    )
    cmd = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups", "/bin/sh", "-c", script, "sh"]
    out = subprocess.run([*cmd, *map(str, paths)], capture_output=True, text=True, timeout=30, check=True).stdout
    return [code == "0" for code in out.split()]


def _ours(w: Walker, base: Path, path: Path) -> bool:
    """The walker's verdict: every folder from `base` down searchable, the entry readable (and a folder listable)."""
    chain = [base, *[p for p in path.parents if base in p.parents]]
    want = READ | EXEC if path.is_dir() else READ
    ok = [w.verdict(str(p), EXEC) for p in chain] + [w.verdict(str(path), want)]
    return all(v is not None and v[0] for v in ok)


@ROOT_ONLY
def test_the_verdict_agrees_with_the_kernel(open_dir: Path) -> None:
    paths = []
    for name, (uid, gid, mode, extra) in FILES_CASES.items():
        p = open_dir / name
        p.write_bytes(b"x")
        _set(p, uid, gid, mode, extra)
        paths.append(p)
    for name, mode in (("d700", 0o700), ("d711", 0o711), ("d755", 0o755), ("d750g", 0o750)):
        d = open_dir / name
        d.mkdir()
        (d / "f").write_bytes(b"x")
        os.chmod(d / "f", 0o644)
        _set(d, 0, GID if name.endswith("g") else 0, mode, ())
        paths += [d, d / "f"]
    w = Walker(str(open_dir), Who(UID, frozenset({GID})))
    kernel = _kernel_opens(paths)
    ours = [_ours(w, open_dir, p) for p in paths]
    assert dict(zip(map(str, paths), ours, strict=True)) == dict(zip(map(str, paths), kernel, strict=True))
    assert kernel.count(False) >= 7 and kernel.count(True) >= 7  # both verdicts exercised


def test_pure_rules() -> None:
    who = Who(UID, frozenset({GID}))
    assert parse_who("4242:4242") == Who(UID, frozenset({GID}), GID) and parse_who("0") == Who(0)
    assert parse_who("") is None and parse_who("4242:4242,10860") == Who(UID, frozenset({GID, 10860}), GID)
    pod = Who(UID, frozenset({GID, 10860}), GID)
    assert pod.owner == "4242:4242" and Who(7).owner == "7"
    # a supplementary group (a pod's fsGroup) opens what the group may read
    assert allowed(0o640, 0, 10860, None, pod, READ) and not allowed(0o640, 0, 10860, None, who, READ)
    for bad in ("webui", "4242:", ":4242", "4242:1,", "4242:1,,2", "-1"):
        with pytest.raises(ValueError):
            parse_who(bad)
    assert allowed(0o600, 0, 0, None, Who(0), READ)  # root reads everything
    assert not allowed(0o600, 0, 0, None, who, READ)
    assert allowed(0o060, 0, GID, None, who, READ) and not allowed(0o606, 0, GID, None, who, READ)
    acl = parse_acl(_acl((0x01, 6, ANY), (0x02, 4, UID), (0x04, 0, ANY), (0x10, 4, ANY), (0x20, 0, ANY)))
    assert acl == Acl(users=((UID, 4),), group_obj=0, mask=4)
    assert parse_acl(_acl((0x01, 6, ANY), (0x04, 4, ANY), (0x20, 4, ANY))) is None  # only the mode bits
    assert parse_acl(b"\x01\x00") is None


def _blob(cache: Path, key: str, size: int) -> Path:
    return next(p for p in (cache / key / "blobs").iterdir() if p.stat().st_size == size)


def _config(tmp: Path, cache: Path) -> Path:
    conf = tmp / "c.yml"
    conf.write_text(
        f"roots: [{{path: {cache}, name: hub, layout: hf-hub}}]\n"
        "required:\n  - {hub: org/tts}\n"
        "collector:\n  required:\n    readable-by: {enabled: '%d:%d', interval: 1s}\n" % (UID, GID)
    )
    return conf


def test_a_root_only_blob_of_a_required_model_pages_and_check_names_it(hub: FakeHub, tmp_path: Path) -> None:
    from helpers import InProcess

    cache = tmp_path / "hub"
    for repo in ("org/tts", "org/voc"):
        hub.add_repo(repo, FILES)
        run_download(hub, repo_id=repo, cache_dir=str(cache))
    # what the web UI never opens does not count: huggingface_hub's listing cache (it writes it 0600) and a blob
    # no snapshot links to
    for listing in cache.glob("models--*/trees/*.json"):
        assert listing.stat().st_mode & 0o777 == 0o600
    stray = cache / "models--org--tts" / "blobs" / hashlib.sha256(b"unreferenced").hexdigest()
    stray.write_bytes(b"unreferenced")
    stray.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(stray, 0, 0)
    conf = _config(tmp_path, cache)
    args = ["--config.file", str(conf), "--path.state", str(tmp_path / "state"), *FAST]
    timeline, tts, voc = Timeline(wanted=used_metrics()), {"repo": "org/tts"}, {"repo": "org/voc"}
    labels = {"root": "hub", "repo_type": "model"}
    with InProcess(args) as ex:
        ex.wait("modelcache_readable_last_check_timestamp_seconds", lambda v: v is not None, 30, root="hub")
        assert ex.get("modelcache_model_unreadable_files", **labels, **tts) == 0
        # the ledger finds the required model after the index: the checker runs again as soon as it does
        ex.wait("modelcache_required_model_unreadable_files", lambda v: v == 0, 10, root="hub", model="org/tts")
        for _ in range(3):
            timeline.scrape(ex.text(), "gpu-1", time.time())
        timeline.expect("readable: no page")

        blob = _blob(cache, "models--org--tts", 60_000)
        blob.chmod(0o600)  # as a copy by another user leaves it: the owner (not the web UI) alone may read
        if os.geteuid() == 0:
            os.chown(blob, 0, 0)
        (cache / "models--org--voc" / "snapshots").chmod(0o700)
        ex.wait("modelcache_model_unreadable_files", lambda v: v == 1, 30, **labels, **tts)
        ex.wait("modelcache_model_unreadable_folders", lambda v: v == 1, 30, **labels, **voc)
        assert ex.get("modelcache_model_unreadable_files", **labels, **voc) == 0
        assert ex.get("modelcache_model_unreadable_folders", **labels, **tts) == 0
        assert ex.get("modelcache_required_model_unreadable_files", root="hub", model="org/tts") == 1
        for _ in range(65):  # over the rule's `for:` (15m) at a 15 s scrape interval
            timeline.scrape(ex.text(), "gpu-1", time.time())
        timeline.expect(
            "a blob of a required model root-only",
            ModelCacheRequiredModelUnreadable=[{"root": "hub", "model": "org/tts", "severity": "critical"}],
        )
        out = check("--config.file", str(conf), "--path.state", str(tmp_path / "state"))
        assert out.returncode == 1, out.stdout + out.stderr
        owner = f"owner {os.stat(blob).st_uid}:{os.stat(blob).st_gid} mode 0600"
        assert "UNREADABLE org/tts (hub): 1 file, 0 folders" in out.stdout, out.stdout
        assert f"models--org--tts/blobs/{blob.name} (file: {owner})" in out.stdout, out.stdout
        assert f"fix: chown -R {UID}:{GID} {cache / 'models--org--tts'}" in out.stdout
        assert "UNREADABLE org/voc (hub): 0 files, 1 folder" in out.stdout
        assert "required model org/tts cannot be read by uid 4242 gid 4242" in out.stdout

        blob.chmod(0o644)
        (cache / "models--org--voc" / "snapshots").chmod(0o755)
        ex.wait("modelcache_required_model_unreadable_files", lambda v: v == 0, 30, root="hub", model="org/tts")
        ex.wait("modelcache_model_unreadable_folders", lambda v: v == 0, 30, **labels, **voc)
        timeline.scrape(ex.text(), "gpu-1", time.time())
        timeline.expect("readable again: resolved")
    timeline.verify(tmp_path)
    again = check("--config.file", str(conf), "--path.state", str(tmp_path / "state"))
    assert again.returncode == 0, again.stdout
    assert "hub: 2 models, every file and folder readable" in again.stdout


def test_a_bad_readable_by_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = check("--path.cache", str(tmp_path), "--collector.required.readable-by=webui")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert "--collector.required.readable-by" in out.stderr and "1000:1000" in out.stderr, out.stderr


def test_a_local_dir_file_is_named_and_readable_caches_are_0(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("IndexTeam/IndexTTS-2", FILES)
    local = tmp_path / "checkpoints"
    run_download(hub, repo_id="IndexTeam/IndexTTS-2", local_dir=str(local))
    conf = tmp_path / "c.yml"
    conf.write_text(
        f"roots: [{{path: {local}, name: checkpoints, layout: hf-local-dir, model: IndexTeam/IndexTTS-2}}]\n"
        "required:\n  - {name: main, dirs: ['.'], dir_files: [config.json, model.safetensors]}\n"
    )
    for p in [local, *local.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    state = str(tmp_path / "state")
    args = ["--config.file", str(conf), "--path.state", state, f"--collector.required.readable-by={UID}"]
    ok = check(*args)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "checkpoints: 1 model, every file and folder readable" in ok.stdout
    (local / "model.safetensors").chmod(0o600)
    (local / "tok").chmod(0o700)  # not a required file, but part of the model
    bad = check(*args)
    assert bad.returncode == 1, bad.stdout
    assert "UNREADABLE main (checkpoints): 1 file, 0 folders" in bad.stdout, bad.stdout
    assert "UNREADABLE IndexTeam/IndexTTS-2 (checkpoints): 1 file, 1 folder" in bad.stdout, bad.stdout
    assert f"fix: chown -R {UID} {local}" in bad.stdout
