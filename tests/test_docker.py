"""The Dockerfile, checked without a Docker engine (CI has none).

Statically: multi-stage on a slim Python image, a numeric non-root USER that owns the state VOLUME, an exec-form
ENTRYPOINT that is the package's console script, EXPOSE and the listen address on all interfaces, a HEALTHCHECK
on /healthz with a command the slim image has, OCI labels that match the package, .dockerignore keeping what
the COPYs need, nothing of this machine.

For real, once per session: each stage's COPYs are replayed into a folder standing for that stage's root and
its `build-steps` RUN runs there with a fresh venv's python, exactly as written (build: wheels of the exporter
and its dependencies; runtime: installed from those wheels only, no index). The installed console script then
runs with the image's ENV (listen address and state directory moved to this machine's loopback and a temporary
folder): it serves, the HEALTHCHECK command passes (and fails once it stopped), it writes only to the state
volume, and SIGTERM stops it cleanly.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from fakehub import FakeHub, run_download
from helpers import REPO_ROOT, free_port, tree_digest, value, wait_for

import modelcache_exporter
from modelcache_exporter.config.flags import Config

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
BUILD_STEPS = REPO_ROOT / "deploy" / "docker" / "build-steps.sh"
STEPS_IN_IMAGE = "/usr/local/bin/build-steps"


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in self.all("ENV"):
            out.update(dict(tok.split("=", 1) for tok in shlex.split(i.args)))
        return out

    def labels(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in self.all("LABEL"):
            out.update(dict(tok.split("=", 1) for tok in shlex.split(i.args)))
        return out

    def args(self) -> dict[str, str]:
        return {name: default for name, _, default in (i.args.partition("=") for i in self.all("ARG"))}


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with line continuations joined and comments dropped (as BuildKit reads them)."""
    out: list[Instruction] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # blank and comment lines, also inside a continued instruction
        if not buf:
            start = n
        if stripped.endswith("\\"):
            buf += stripped[:-1].rstrip() + " "
            continue
        keyword, _, args = (buf + stripped).partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        buf = ""
    assert not buf, "the Dockerfile ends inside a continued line"
    return out


def stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages in order)."""
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", ins.args, re.IGNORECASE)
            assert m, ins
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda v: global_args[v.group(1) or v.group(2)], m.group(1))
            found.append(Stage(image, m.group(2) or str(len(found))))
        elif not found:
            assert ins.keyword == "ARG", f"line {ins.line}: only ARG may come before the first FROM"
            name, _, default = ins.args.partition("=")
            global_args[name] = default
        else:
            found[-1].instructions.append(ins)
    return global_args, found


@pytest.fixture(scope="module")
def dockerfile() -> list[Stage]:
    return stages(DOCKERFILE.read_text())[1]


def final(st: list[Stage]) -> Stage:
    return st[-1]


def state_dir(st: list[Stage]) -> str:
    return final(st).env()["MODELCACHE_PATH_STATE"]


def healthcheck_argv(st: list[Stage]) -> tuple[str, list[str]]:
    """(options, exec-form command) of the HEALTHCHECK."""
    options, sep, cmd = final(st).last("HEALTHCHECK").args.partition("CMD ")
    assert sep, "HEALTHCHECK must run a command"
    argv = json.loads(cmd)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), "HEALTHCHECK CMD must be exec form"
    return options, argv


# ---------------------------------------------------------------------------------------------- static checks


def test_multi_stage_build_on_a_slim_python(dockerfile: list[Stage]) -> None:
    build, runtime = dockerfile[0], final(dockerfile)
    assert len(dockerfile) >= 2 and build.name == "build"
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", runtime.image), runtime.image
    assert build.image == runtime.image  # wheels built by the same interpreter that installs them
    copies = [i.args for i in runtime.all("COPY") if i.args.startswith("--from=")]
    assert copies == ["--from=build /wheels /tmp/wheels"], "the runtime stage takes only the wheels from the build"
    # the build steps are the script's, so the test below runs exactly them
    runs = [i.args for s in dockerfile for i in s.all("RUN")]
    assert runs[0] == f"sh {STEPS_IN_IMAGE} wheel /src /wheels"
    assert runs[1].startswith(f"sh {STEPS_IN_IMAGE} install /tmp/wheels && rm -rf /tmp/wheels {STEPS_IN_IMAGE}")


def test_runs_as_a_numeric_non_root_user_owning_the_state_volume(dockerfile: list[Stage]) -> None:
    runtime = final(dockerfile)
    user = runtime.last("USER").args
    m = re.fullmatch(r"(\d+):(\d+)", user)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) > 0, f"USER {user} must be a numeric non-root uid:gid"
    uid, gid = m.groups()
    setup = runtime.all("RUN")[-1].args
    assert f"useradd --system --uid {uid} --gid {gid}" in setup
    state = state_dir(dockerfile)
    assert f"install -d -o {uid} -g {gid} -m 0750 {state}" in setup  # a fresh named volume is copied from here
    assert runtime.instructions.index(runtime.last("USER")) > runtime.instructions.index(runtime.all("RUN")[-1])
    assert json.loads(runtime.last("VOLUME").args) == [state]
    assert runtime.env()["HOME"] == state  # nothing else to write on a read-only root filesystem
    assert runtime.env()["PYTHONDONTWRITEBYTECODE"] == "1"


def test_exec_form_entrypoint_is_the_console_script(dockerfile: list[Stage]) -> None:
    tomllib = pytest.importorskip("tomllib")
    runtime = final(dockerfile)
    entry = json.loads(runtime.last("ENTRYPOINT").args)
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry == ["modelcache-exporter"] and entry[0] in scripts
    assert not runtime.all("CMD")  # `docker run IMAGE check` and `docker run IMAGE --flag ...` both work


def test_listens_on_all_interfaces_at_the_exposed_port(dockerfile: list[Stage]) -> None:
    runtime = final(dockerfile)
    default_port = Config().listen[1]
    assert runtime.last("EXPOSE").args == str(default_port) == "10860"
    assert runtime.env()["MODELCACHE_WEB_LISTEN_ADDRESS"] == f":{default_port}"  # the default is loopback only


def test_healthcheck_uses_python_on_healthz(dockerfile: list[Stage]) -> None:
    options, argv = healthcheck_argv(dockerfile)
    assert argv[0] == "python" and "/healthz" in argv[-1]  # python:slim has no curl or wget
    assert not {"curl", "wget"} & set(re.findall(r"\w+", " ".join(argv)))
    for opt in ("--interval=", "--timeout=", "--start-period=", "--retries="):
        assert opt in options


def test_oci_labels_match_the_package(dockerfile: list[Stage]) -> None:
    tomllib = pytest.importorskip("tomllib")
    runtime = final(dockerfile)
    labels = runtime.labels()
    for key in ("title", "description", "version", "revision", "licenses", "source", "documentation"):
        assert labels.get(f"org.opencontainers.image.{key}"), f"label org.opencontainers.image.{key} missing"
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert labels["org.opencontainers.image.title"] == project["name"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    version = modelcache_exporter.__version__
    assert runtime.args()["VERSION"] == version, "bump ARG VERSION with modelcache_exporter.__version__"


def _ignored(path: str, patterns: list[str]) -> bool:
    hit = False
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat.lstrip("!").strip("/")
        if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat.removeprefix("**/")) or path.startswith(pat + "/"):
            hit = not neg
    return hit


def test_dockerignore_keeps_what_the_copies_need(dockerfile: list[Stage]) -> None:
    patterns = [p.strip() for p in DOCKERIGNORE.read_text().splitlines() if p.strip() and not p.startswith("#")]
    for stage in dockerfile:
        for copy in stage.all("COPY"):
            if copy.args.startswith("--from="):
                continue
            for src in shlex.split(copy.args)[:-1]:
                assert (REPO_ROOT / src).exists(), f"COPY {src}: no such file"
                assert not _ignored(src, patterns), f"COPY {src} is excluded by .dockerignore"
    for heavy in (".git", ".venv", "tests", "modelcache_exporter/__pycache__"):
        assert _ignored(heavy, patterns), f"{heavy} should not be sent to the builder"


def test_no_secrets_or_paths_of_this_machine() -> None:
    files = [DOCKERFILE, DOCKERIGNORE, *sorted(p for p in (REPO_ROOT / "deploy").rglob("*") if p.is_file())]
    bad = re.compile(r"/work/|/home/|/tmp/pytest|\bhf_[A-Za-z]{30,}|(?i:password|passwd|secret|api[_-]?key)\s*[:=]")
    for path in files:
        text = path.read_text()
        assert not bad.search(text), f"{path.relative_to(REPO_ROOT)}: {bad.search(text)}"
        assert "HF_TOKEN" not in text and "Bearer " not in text, path


def test_build_steps_script_is_posix_sh() -> None:
    proc = subprocess.run(["sh", "-n", str(BUILD_STEPS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    usage = subprocess.run(["sh", str(BUILD_STEPS)], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr
    if shutil.which("shellcheck"):
        lint = subprocess.run(["shellcheck", "-s", "sh", str(BUILD_STEPS)], capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout


# ----------------------------------------------------------------------------- the build steps, for real


@dataclass
class Built:
    """The runtime stage, emulated: its root folder, the venv standing for the image's python, the ENV."""

    root: Path
    venv: Path
    env: dict[str, str]
    log: str

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True)
    return path


def _stage_env(venv: Path, offline: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    if offline:  # the runtime stage must get everything from the wheels the build stage made
        env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
    return env


def _replay(stage: Stage, root: Path, roots: dict[str, Path], venv: Path, offline: bool) -> str:
    """COPY into `root`, and RUN the stage's build-steps command with its absolute paths moved under `root`."""
    workdir = "/"
    log = ""
    for ins in stage.instructions:
        if ins.keyword == "WORKDIR":
            workdir = ins.args
        elif ins.keyword == "COPY":
            tokens = shlex.split(ins.args)
            source_root = REPO_ROOT
            if tokens[0].startswith("--from="):
                source_root = roots[tokens.pop(0).removeprefix("--from=")]
            *sources, dest = tokens
            target = root / os.path.join(workdir, dest).lstrip("/")
            for src in sources:
                origin = source_root / src.lstrip("/")
                into = target / origin.name if dest.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                if origin.is_dir():
                    shutil.copytree(origin, into, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(origin, into)
        elif ins.keyword == "RUN":
            first = ins.args.split("&&")[0].split()
            if first[:2] != ["sh", STEPS_IN_IMAGE]:
                continue  # system set-up (user, folders): checked statically above
            argv = [str(root / a.lstrip("/")) if a.startswith("/") else a for a in first]
            proc = subprocess.run(
                argv, cwd=root / workdir.lstrip("/"), env=_stage_env(venv, offline), capture_output=True, text=True
            )
            log += proc.stdout + proc.stderr
            assert proc.returncode == 0, f"RUN {' '.join(first)} failed:\n{proc.stdout}\n{proc.stderr}"
    return log


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, dockerfile: list[Stage]) -> Built:
    """Both stages replayed once per session (a venv each, about a minute: wheels of every dependency)."""
    tmp = tmp_path_factory.mktemp("image")
    roots: dict[str, Path] = {}
    log = ""
    for i, stage in enumerate(dockerfile):
        root = tmp / f"stage-{stage.name}"
        root.mkdir()
        venv = _venv(tmp / f"venv-{stage.name}")
        log += _replay(stage, root, roots, venv, offline=i == len(dockerfile) - 1)
        roots[stage.name] = root
    runtime = final(dockerfile)
    return Built(roots[runtime.name], venv, runtime.env(), log)


def test_wheels_hold_the_exporter_and_every_dependency(built: Built) -> None:
    wheels = sorted(p.name for p in (built.root.parent / "stage-build" / "wheels").glob("*.whl"))
    version = modelcache_exporter.__version__
    assert any(w.startswith(f"modelcache_exporter-{version}-py3-none-any") for w in wheels), wheels
    for dep in ("prometheus_client", "psutil", "huggingface_hub", "watchdog", "requests", "pyyaml"):
        assert any(w.lower().startswith(dep) for w in wheels), f"no wheel for {dep}: {wheels}"
    assert f"modelcache-exporter {version}" in built.log  # `build-steps install` ends with --version


def test_installed_package_is_the_wheel_not_the_checkout(built: Built, tmp_path: Path) -> None:
    where = subprocess.run(
        [built.bin("python"), "-c", "import modelcache_exporter; print(modelcache_exporter.__file__)"],
        cwd=tmp_path,
        env=_stage_env(built.venv, offline=True),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(built.venv)) and "site-packages" in where


@pytest.fixture
def container_env(built: Built, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, Path, int]]:
    """The image's ENV with its paths mapped to temporary folders and its port to a free loopback port; a hub
    cache with one model where the image expects the cache volume (HF_HOME)."""
    port = free_port()
    state = tmp_path / built.env["MODELCACHE_PATH_STATE"].lstrip("/")
    hf_home = tmp_path / built.env["HF_HOME"].lstrip("/")
    state.mkdir(parents=True)
    with FakeHub() as hub:
        hub.add_repo("org/tiny", {"config.json": b"{}\n", "model.safetensors": b"\x01" * 5000})
        run_download(hub, repo_id="org/tiny", cache_dir=str(hf_home / "hub"))
    env = {**_stage_env(built.venv, offline=True), **built.env}
    env.update(
        MODELCACHE_PATH_STATE=str(state),
        HOME=str(state),
        HF_HOME=str(hf_home),
        MODELCACHE_WEB_LISTEN_ADDRESS=f"127.0.0.1:{port}",
    )
    yield env, state, hf_home, port


def test_the_installed_image_serves_passes_its_healthcheck_and_stops_on_sigterm(
    built: Built, dockerfile: list[Stage], container_env: tuple[dict[str, str], Path, Path, int]
) -> None:
    env, state, hf_home, port = container_env
    _, health = healthcheck_argv(dockerfile)
    health = [built.bin(health[0]), *health[1:]]
    entry = json.loads(final(dockerfile).last("ENTRYPOINT").args)
    before = {p: tree_digest(p) for p in (built.venv, hf_home)}
    proc = subprocess.Popen(
        [built.bin(entry[0]), *entry[1:], "--collector.cache.scan-workers=0"],
        cwd=state,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def healthy() -> bool:
            assert proc.poll() is None, proc.communicate()
            return subprocess.run(health, env=env, capture_output=True).returncode == 0

        wait_for(healthy, 30, interval=0.2, what="the HEALTHCHECK command to pass")
        url = f"http://127.0.0.1:{port}/metrics"

        def indexed() -> bool:
            return value(requests.get(url, timeout=5).text, "modelcache_index_verified", root="hub") == 1

        wait_for(indexed, 20, interval=0.2, what="the hub cache under HF_HOME indexed")
        text = requests.get(url, timeout=5).text
        assert value(text, "modelcache_model_files", root="hub", repo="org/tiny", repo_type="model") == 2
        assert value(text, "modelcache_ledger_persistent") == 1
        assert (state / "ledger.sqlite").exists()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # what `docker stop` sends
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "shutting down" in err
    # a read-only root filesystem: nothing written outside the state volume (no .pyc, no cache, no HOME files)
    assert {p: tree_digest(p) for p in before} == before
    started = time.monotonic()
    assert subprocess.run(health, env=env, capture_output=True, timeout=10).returncode != 0  # down: unhealthy
    assert time.monotonic() - started < 5  # well within the HEALTHCHECK --timeout


def test_check_subcommand_through_the_entrypoint(
    built: Built, dockerfile: list[Stage], container_env: tuple[dict[str, str], Path, Path, int]
) -> None:
    """`docker run IMAGE check --format json`: the same ENV, a one-shot report, exit 0."""
    env, state, _, _ = container_env
    entry = json.loads(final(dockerfile).last("ENTRYPOINT").args)
    proc = subprocess.run(
        [built.bin(entry[0]), *entry[1:], "check", "--format", "json"],
        cwd=state,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert "org/tiny" in json.dumps(report)
