"""The commands the README and the runbook give work as written, offline: the bcrypt one-liner (its hash opens
the exporter's basic auth), the SHA-256 check of a hub cache's blobs; `hf cache verify` does need the network, as
the runbook says; and the README says where `runbook_url` points and how to change it."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
import requests
from fakehub import FakeHub, hf_env, run_download
from helpers import REPO_ROOT, Process

from mixin.config import RUNBOOK_URL
from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.web.values import check_users

README = (REPO_ROOT / "README.md").read_text()
RUNBOOK = (REPO_ROOT / "alerts" / "RUNBOOK.md").read_text()
ONE_LINER = re.compile(r"^python3 -c '[^'\n]*bcrypt\.hashpw[^'\n]*'$", re.MULTILINE)
BLOB_CHECK = re.compile(r"^cd <root path>/models--<org>--<name>/blobs && .*sha256sum.*$", re.MULTILINE)
PASSWORD = "correct horse battery staple"


def one_liners() -> set[str]:
    found = {name: ONE_LINER.findall(text) for name, text in (("README", README), ("RUNBOOK", RUNBOOK))}
    assert all(found.values()), found  # both give it
    return {line for lines in found.values() for line in lines}


def make_hash(line: str, password: str) -> str:
    """Run the documented one-liner with this Python (the one the exporter runs on), typing `password`."""
    argv = shlex.split(line)
    assert argv[0] == "python3"
    proc = subprocess.run(
        [sys.executable, *argv[1:]],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,  # no controlling terminal: getpass reads the password from stdin
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_bcrypt_one_liner_makes_a_hash_of_the_password() -> None:
    (line,) = one_liners()  # README and runbook agree
    hashed = make_hash(line, PASSWORD)
    assert hashed.startswith("$2b$10$")
    assert bcrypt.checkpw(PASSWORD.encode(), hashed.encode())
    assert not bcrypt.checkpw(b"wrong", hashed.encode())
    with pytest.raises(ConfigError) as err:  # the configuration error gives the same command
        check_users({"prometheus": "plaintext"}, "basic_auth_users")
    assert line in str(err.value) and "htpasswd" not in README + RUNBOOK + str(err.value)


def test_the_exporter_accepts_the_hash_of_the_one_liner(tmp_path: Path) -> None:
    (line,) = one_liners()
    conf = tmp_path / "web.yml"
    conf.write_text(f"basic_auth_users:\n  prometheus: '{make_hash(line, PASSWORD)}'\n")
    args = ["--path.cache", str(tmp_path / "hub"), "--path.state", str(tmp_path / "s"), "--web.config.file", str(conf)]
    with Process([*args, "--no-collector.probe", "--no-collector.diskstats"]) as ex:
        assert requests.get(ex.url + "/metrics", auth=("prometheus", PASSWORD), timeout=10).status_code == 200
        assert requests.get(ex.url + "/metrics", auth=("prometheus", "wrong"), timeout=10).status_code == 401


def test_the_offline_blob_check_names_the_blob_whose_content_is_wrong(tmp_path: Path) -> None:
    (line,) = BLOB_CHECK.findall(RUNBOOK)
    blobs = tmp_path / "hub" / "models--org--tts" / "blobs"
    blobs.mkdir(parents=True)
    good, bad = b"\x01" * 1000, b"\x02" * 1000
    (blobs / hashlib.sha256(good).hexdigest()).write_bytes(good)
    (blobs / hashlib.sha256(bad).hexdigest()).write_bytes(b"\x03" * 1000)  # the content changed on disk
    (blobs / ("e" * 64 + ".incomplete")).write_bytes(b"partial")  # a partial download is no blob
    (blobs / hashlib.sha1(b"small").hexdigest()).write_bytes(b"small")  # a git blob id: not checked
    script = line.replace("<root path>", str(tmp_path / "hub")).replace("<org>--<name>", "org--tts")
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.stdout.splitlines() == [f"{hashlib.sha256(bad).hexdigest()}: FAILED"], proc
    (blobs / hashlib.sha256(bad).hexdigest()).unlink()  # the runbook's fix: delete just that blob
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, ""), proc


def test_hf_cache_verify_needs_the_network_as_the_runbook_says(tmp_path: Path) -> None:
    hf = Path(sys.executable).parent / "hf"
    cache = tmp_path / "hub"
    with FakeHub() as hub:
        hub.add_repo("org/tts", {"config.json": b"{}\n", "model.safetensors": b"\x01" * 5000})
        run_download(hub, repo_id="org/tts", cache_dir=str(cache))
        cmd = [str(hf), "cache", "verify", "org/tts", "--cache-dir", str(cache)]
        online = subprocess.run(cmd, env=hf_env(hub), capture_output=True, text=True, timeout=60)
        offline = subprocess.run(cmd, env=hf_env(hub, HF_HUB_OFFLINE="1"), capture_output=True, text=True, timeout=60)
    assert online.returncode == 0, online.stdout + online.stderr
    assert offline.returncode != 0 and "offline mode is enabled" in offline.stdout + offline.stderr
    section = RUNBOOK[RUNBOOK.index("## ModelCacheCorruption") : RUNBOOK.index("## ModelCacheDownloadStalled")]
    assert "needs the network" in section and "offline mode is enabled" in section


def test_the_readme_says_where_runbook_url_points_and_how_to_change_it() -> None:
    assert f"{RUNBOOK_URL}#modelcachediskalmostfull" in README
    rules = (REPO_ROOT / "alerts" / "modelcache.rules.yml").read_text()
    assert f"runbook_url: {RUNBOOK_URL}#modelcachediskalmostfull" in rules
    assert "--runbook-url" in README and "`RUNBOOK_URL`" in README and "mixin/config.py" in README
