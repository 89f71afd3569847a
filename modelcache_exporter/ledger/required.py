"""Required models: is each one present and complete, so the next restart is not a 30-minute download?

A requirement names a model and where it may live: a hub repo (`hub:` repo id, optional revision
and files) in any hf-hub root, and/or a folder (`dirs:` candidate paths, relative to any root) with
the files it must hold. Complete = every file there (links resolve, nothing empty), no partial
download of it in progress.

The `indextts2` profile encodes where each IndexTTS2 generation keeps its models
(indextts2-output.md §1.3, §1.7, §1.9): the main model `IndexTeam/IndexTTS-2` in the model dir
(`checkpoints/`), and the four helper models either in the HF hub cache (classic web UI) or in
`checkpoints/hf_cache/` (the 2026 web UI's flat layout).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from modelcache_exporter.base.values import ConfigError
from modelcache_exporter.index.state import RootState
from modelcache_exporter.scan.safeio import read_head

_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Requirement:
    """One required model and the places it may be."""

    name: str
    hub: str = ""
    repo_type: str = "model"
    revision: str = "main"
    files: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()
    dir_files: tuple[str, ...] = ()
    root: str = ""


@dataclass(frozen=True)
class Status:
    """Where a requirement stands."""

    name: str
    root: str = ""
    where: str = ""
    present: bool = False
    complete: bool = False
    missing: tuple[str, ...] = field(default_factory=tuple)


MAIN_FILES = ("bpe.model", "gpt.pth", "config.yaml", "s2mel.pth", "wav2vec2bert_stats.pt")
PROFILES: dict[str, tuple[Requirement, ...]] = {
    "indextts2": (
        Requirement("IndexTeam/IndexTTS-2", dirs=(".", "checkpoints"), dir_files=MAIN_FILES),
        Requirement(
            "facebook/w2v-bert-2.0",
            hub="facebook/w2v-bert-2.0",
            files=("preprocessor_config.json", "config.json", "model.safetensors"),
            dirs=("hf_cache/w2v-bert-2.0", "w2v-bert-2.0"),
            dir_files=("config.json", "model.safetensors"),
        ),
        Requirement(
            "amphion/MaskGCT",
            hub="amphion/MaskGCT",
            files=("semantic_codec/model.safetensors",),
            dirs=("hf_cache", "."),
            dir_files=("semantic_codec_model.safetensors",),
        ),
        Requirement(
            "funasr/campplus",
            hub="funasr/campplus",
            files=("campplus_cn_common.bin",),
            dirs=("hf_cache", "."),
            dir_files=("campplus_cn_common.bin",),
        ),
        Requirement(
            "nvidia/bigvgan_v2_22khz_80band_256x",
            hub="nvidia/bigvgan_v2_22khz_80band_256x",
            files=("config.json", "bigvgan_generator.pt"),
            dirs=("hf_cache/bigvgan", "bigvgan"),
            dir_files=("config.json", "bigvgan_generator.pt"),
        ),
    ),
}
KEYS = ("name", "hub", "repo_type", "revision", "files", "dirs", "dir_files", "root")


def requirement_from_mapping(item: object, where: str) -> Requirement:
    """A `required:` entry of the configuration file."""
    if not isinstance(item, dict) or not ({"hub", "dirs"} & set(item)):
        raise ConfigError(f"{where}: a required model needs 'hub: <repo id>' and/or 'dirs: [<path>]'")
    unknown = sorted(set(item) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(KEYS)}")
    lists = {k: tuple(str(x) for x in item.get(k) or ()) for k in ("files", "dirs", "dir_files")}
    scalars = {k: str(item[k]) for k in ("hub", "repo_type", "revision", "root") if item.get(k) is not None}
    name = str(item.get("name") or item.get("hub") or lists["dirs"][0])
    return Requirement(name=name, **scalars, **lists)  # type: ignore[arg-type]


def profile(name: str) -> tuple[Requirement, ...]:
    """A built-in set of requirements ('' for none)."""
    if not name:
        return ()
    if name not in PROFILES:
        raise ConfigError(f"unknown required-models profile {name!r}; use one of {', '.join(PROFILES)}")
    return PROFILES[name]


def _check_files(base: str, files: Sequence[str], allow_empty: bool = False) -> tuple[str, ...]:
    """Files missing under `base`: a symlink must resolve, and a named file must not be empty."""
    missing = []
    for f in files:
        try:
            if os.stat(os.path.join(base, f)).st_size == 0 and not allow_empty:
                missing.append(f)
        except OSError:
            missing.append(f)
    return tuple(missing)


def _hub_status(req: Requirement, state: RootState) -> Status | None:
    prefix = {"model": "models", "dataset": "datasets", "space": "spaces"}.get(req.repo_type, "models")
    key = f"{prefix}--{req.hub.replace('/', '--')}"
    model = next((m for m in state.models if m.key == key), None)
    if model is None:
        return None
    repo = os.path.join(state.path, key)
    commit = req.revision
    if not _COMMIT.fullmatch(commit):
        try:
            data = read_head(os.path.join(repo, "refs", commit), 64, state.path)  # never blocks on a FIFO
            if data is None:
                raise OSError("a link out of the cache root")
            commit = data.decode("utf-8", "replace").strip()
        except OSError:
            return Status(req.name, state.name, key, True, False, (f"refs/{req.revision}",))
    snap = os.path.join(repo, "snapshots", commit)
    files = req.files or tuple(_snapshot_files(snap))
    if not os.path.isdir(snap):
        missing: tuple[str, ...] = tuple(files) or (f"snapshots/{commit}",)
    else:
        missing = _check_files(snap, files, allow_empty=not req.files)
    busy = tuple(f.path for f in model.incomplete)
    # a repo whose snapshots hold no file (a first download cut, or still running) has nothing to load
    present = any(r.files for r in model.revisions)
    return Status(req.name, state.name, key, present, present and not missing and not busy, missing + busy)


def _snapshot_files(snap: str) -> Iterable[str]:
    for dirpath, _dirs, names in os.walk(snap):
        for n in names:
            yield os.path.relpath(os.path.join(dirpath, n), snap)


def _dir_status(req: Requirement, state: RootState) -> Status | None:
    best: Status | None = None
    for rel in req.dirs:
        base = os.path.normpath(os.path.join(state.path, rel))
        if not os.path.isdir(base):
            continue
        missing = _check_files(base, req.dir_files)
        if len(missing) == len(req.dir_files):
            continue
        busy = tuple(f.path for f in state.incomplete if _inside(f.path, rel))
        cand = Status(req.name, state.name, rel, True, not missing and not busy, missing + busy)
        if best is None or len(cand.missing) < len(best.missing):
            best = cand
    return best


def _inside(path: str, rel: str) -> bool:
    """Whether a root-relative partial-download path concerns the folder `rel` (`.`: the root's own files)."""
    if os.path.normpath(rel) == ".":
        return "/" not in path or path.startswith(".cache/huggingface/download/")
    return path.startswith(os.path.normpath(rel) + "/")


def evaluate(req: Requirement, states: Iterable[RootState]) -> Status:
    """The best place the requirement is found (complete beats partial beats absent)."""
    found: list[Status] = []
    for state in states:
        if not state.present or (req.root and state.name != req.root):
            continue
        if req.hub and state.layout == "hf-hub":
            found.append(_hub_status(req, state) or Status(req.name))
        if req.dirs:
            found.append(_dir_status(req, state) or Status(req.name))
    candidates = [s for s in found if s.present]
    if not candidates:
        return Status(req.name, req.root, missing=req.files or req.dir_files)
    return min(candidates, key=lambda s: (not s.complete, len(s.missing)))
