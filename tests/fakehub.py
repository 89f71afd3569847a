"""A fake Hugging Face Hub HTTP server for tests.

`FakeHub` serves, on ``127.0.0.1`` and a random free port, the subset of the Hub HTTP API that the real
``huggingface_hub`` client (written against 2.4.0) uses to download files:

* ``HEAD``/``GET /[datasets/|spaces/|kernels/]{repo_id}/resolve/{revision}/{path}`` -- file metadata and
  content, with ``X-Repo-Commit``, quoted ``ETag``, ``Content-Length``, ``Accept-Ranges``/``Range`` (206) and,
  for LFS files, ``X-Linked-Etag``/``X-Linked-Size``.  Errors carry ``X-Error-Code`` (``RepoNotFound``,
  ``RevisionNotFound``, ``EntryNotFound``) like the real Hub, so the client raises its specific exceptions.
* ``GET /api/{models|datasets|spaces|kernels}/{repo_id}[/revision/{revision}]`` -- repo info (``sha``,
  ``siblings``), called by ``snapshot_download`` to resolve a branch to a commit.
* ``GET /api/{models|datasets|spaces|kernels}/{repo_id}/tree/{revision}[/{path}]`` -- tree listing
  (``recursive``, cursor pagination through a ``Link: <...>; rel="next"`` header), called by
  ``snapshot_download`` to list files.

No Xet headers are ever returned, so the client always takes the plain HTTP download path.  Nothing here ever
talks to a host other than ``127.0.0.1``.

Typical use::

    with FakeHub() as hub:
        sha = hub.add_repo("org/model", {"config.json": b"{}", "model.safetensors": b"\\0" * 4096})
        run_download(hub, repo_id="org/model", cache_dir=tmp_path / "hub")          # subprocess, real client
        snapshot_download("org/model", cache_dir=..., endpoint=hub.endpoint)         # in-process, real client

``huggingface_hub`` reads ``HF_ENDPOINT`` / ``HF_HUB_CACHE`` / ... at import time, hence the subprocess
helpers `hf_env`, `start_download` and `run_download`.  For in-process use, pass ``endpoint=hub.endpoint`` and
wrap the calls in `hermetic_client` so the client never phones home (agent-detection registry, proxies).
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = [
    "REPO_TYPES",
    "DownloadError",
    "FakeHub",
    "HubFile",
    "blob_names",
    "default_is_lfs",
    "git_blob_sha1",
    "hermetic_client",
    "hf_env",
    "run_download",
    "start_download",
]

#: Repo types understood by the fake hub, with their URL prefix for ``/resolve`` and their ``/api`` plural.
REPO_TYPES: dict[str, tuple[str, str]] = {
    "model": ("", "models"),
    "dataset": ("datasets/", "datasets"),
    "space": ("spaces/", "spaces"),
    "kernel": ("kernels/", "kernels"),
}
_API_PLURAL_TO_TYPE = {plural: repo_type for repo_type, (_, plural) in REPO_TYPES.items()}
_RESOLVE_PREFIX_TO_TYPE = {"datasets": "dataset", "spaces": "space", "kernels": "kernel"}

#: Extensions that are always stored in LFS by the default rule (plus any file >= `LFS_THRESHOLD` bytes).
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
LFS_THRESHOLD = 1024
_LFS_POINTER_TEMPLATE = "version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
_SHORT_SHA = re.compile(r"[0-9a-f]{7,40}")
_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)
_DEFAULT_CHUNK = 64 * 1024


def git_blob_sha1(content: bytes) -> str:
    """Return the git blob id (``sha1("blob <len>\\0" + content)``) of ``content``, as 40 hex chars."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def default_is_lfs(path: str, content: bytes) -> bool:
    """Default LFS rule: files of at least 1 KiB, or with a weights extension (.safetensors/.bin/.pt/.pth)."""
    return len(content) >= LFS_THRESHOLD or path.endswith(LFS_SUFFIXES)


def _iso(ts: float) -> str:
    """Format a unix timestamp the way the Hub does (``2024-01-31T12:00:00.000Z``)."""
    return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class HubFile:
    """One file of one commit, with the identifiers the Hub exposes for it."""

    path: str
    content: bytes
    lfs: bool

    @property
    def size(self) -> int:
        """Size of the real content (not of the LFS pointer)."""
        return len(self.content)

    @property
    def sha256(self) -> str:
        """sha256 of the content (the LFS oid)."""
        return hashlib.sha256(self.content).hexdigest()

    @property
    def lfs_pointer(self) -> bytes:
        """The git-lfs pointer file that git stores for an LFS file."""
        return _LFS_POINTER_TEMPLATE.format(sha256=self.sha256, size=self.size).encode()

    @property
    def blob_id(self) -> str:
        """Git blob id listed by ``/tree`` (``oid``): of the content, or of the LFS pointer for LFS files."""
        return git_blob_sha1(self.lfs_pointer if self.lfs else self.content)

    @property
    def etag(self) -> str:
        """Unquoted ETag = blob name in a hub cache: sha256 for LFS files, git blob sha1 otherwise."""
        return self.sha256 if self.lfs else git_blob_sha1(self.content)


@dataclass
class _Commit:
    sha: str
    parent: str | None
    files: dict[str, HubFile]
    timestamp: float


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, _Commit] = field(default_factory=dict)
    lfs_paths: set[str] | None = None  # None => `default_is_lfs`
    created_at: float = field(default_factory=time.time)

    def is_lfs(self, path: str, content: bytes) -> bool:
        if self.lfs_paths is not None:
            return path in self.lfs_paths
        return default_is_lfs(path, content)

    def resolve(self, revision: str) -> _Commit | None:
        """Branch name, full commit sha or unique short sha (>= 7 hex) -> commit."""
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        if revision in self.commits:
            return self.commits[revision]
        if _SHORT_SHA.fullmatch(revision):
            matches = [sha for sha in self.commits if sha.startswith(revision)]
            if len(matches) == 1:
                return self.commits[matches[0]]
        return None


class _HttpError(Exception):
    """Raised inside request handling to produce an error response."""

    def __init__(self, status: int, message: str, code: str | None = None, commit: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.commit = commit


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub
        super().__init__(("127.0.0.1", 0), _Handler)


class FakeHub:
    """In-memory fake of the Hugging Face Hub, served over HTTP on ``127.0.0.1:<random port>``.

    The server starts in the constructor and runs in a daemon thread; use it as a context manager or call
    `close`.  Test controls (all safe to change while a download is running):

    * ``throttle_bytes_per_second`` -- if set, file bodies (``/resolve`` GETs) are streamed in small chunks
      with sleeps so that a download takes observable time.
    * ``fail_after_bytes`` -- ``{file path in repo: N}``: the next GET of that file closes the connection
      after ``N`` body bytes (the entry is consumed, so it fails only once).
    * ``tree_page_size`` -- entries per ``/tree`` page (pagination via ``Link: rel="next"``).

    Observations: ``requests`` (``(method, decoded URL path)`` of every request served), ``downloads``
    (count of fully sent GET bodies per file path, 206 included), ``range_requests`` (``(path, Range)``).
    """

    def __init__(self, *, chunk_size: int = _DEFAULT_CHUNK) -> None:
        """Start the server. ``chunk_size`` is the write size used when streaming file bodies."""
        self.throttle_bytes_per_second: float | None = None
        self.fail_after_bytes: dict[str, int] = {}
        self.tree_page_size: int = 1000
        self.chunk_size = chunk_size
        self.requests: list[tuple[str, str]] = []
        self.downloads: collections.Counter[str] = collections.Counter()
        self.range_requests: list[tuple[str, str]] = []
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._lock = threading.RLock()
        self._server = _Server(self)
        self.port: int = int(self._server.server_address[1])
        self.endpoint: str = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeHub", daemon=True
        )
        self._thread.start()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeHub:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ repo management

    def add_repo(
        self,
        repo_id: str,
        files: Mapping[str, bytes],
        repo_type: str = "model",
        branch: str = "main",
        lfs: set[str] | None = None,
    ) -> str:
        """Create ``repo_id`` (or a new ``branch`` of it) with ``files``; return the new commit sha (40 hex).

        ``lfs`` lists the paths stored in LFS (for this and later commits of the repo); by default
        `default_is_lfs` decides.  The sha is deterministic: it only depends on repo, branch and content.
        """
        self._check_repo_type(repo_type)
        with self._lock:
            repo = self._repos.get((repo_type, repo_id))
            if repo is None:
                repo = _Repo(
                    repo_type=repo_type, repo_id=repo_id, lfs_paths=set(lfs) if lfs is not None else None
                )
                self._repos[(repo_type, repo_id)] = repo
            elif branch in repo.branches:
                raise ValueError(f"{repo_type} {repo_id!r} already has a branch {branch!r}: use publish()")
            elif lfs is not None:
                repo.lfs_paths = set(lfs)
            return self._commit(repo, branch, None, dict(files))

    def publish(
        self,
        repo_id: str,
        files_changes: Mapping[str, bytes | None],
        repo_type: str = "model",
        branch: str = "main",
    ) -> str:
        """Push a new commit on ``branch``: ``{path: content}`` adds/updates, ``{path: None}`` deletes.

        Unchanged files keep their etag; older commits stay downloadable by sha.  A new branch starts from
        ``main``.  Returns the new commit sha.
        """
        self._check_repo_type(repo_type)
        with self._lock:
            repo = self._get_repo(repo_type, repo_id)
            base_sha = repo.branches.get(branch) or repo.branches.get("main")
            contents = {p: f.content for p, f in repo.commits[base_sha].files.items()} if base_sha else {}
            for path, content in files_changes.items():
                if content is None:
                    if path not in contents:
                        raise KeyError(f"cannot delete {path!r}: not in {repo_id}@{branch}")
                    del contents[path]
                else:
                    contents[path] = content
            return self._commit(repo, branch, base_sha, contents)

    def head(self, repo_id: str, branch: str = "main", repo_type: str = "model") -> str:
        """Commit sha currently at the tip of ``branch``."""
        with self._lock:
            return self._get_repo(repo_type, repo_id).branches[branch]

    def file(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "model") -> HubFile:
        """The `HubFile` at ``path`` in ``revision`` (branch or sha): ``etag``, ``blob_id``, ``lfs``..."""
        with self._lock:
            commit = self._get_repo(repo_type, repo_id).resolve(revision)
            if commit is None:
                raise KeyError(f"unknown revision {revision!r} of {repo_id}")
            return commit.files[path]

    def etag(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "model") -> str:
        """Unquoted etag of a file, i.e. the name of its blob in a hub cache."""
        return self.file(repo_id, path, revision, repo_type).etag

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """All ``{path: content}`` of ``revision``."""
        with self._lock:
            commit = self._get_repo(repo_type, repo_id).resolve(revision)
            if commit is None:
                raise KeyError(f"unknown revision {revision!r} of {repo_id}")
            return {p: f.content for p, f in commit.files.items()}

    def reset_stats(self) -> None:
        """Clear ``requests``, ``downloads`` and ``range_requests``."""
        with self._lock:
            self.requests.clear()
            self.downloads.clear()
            self.range_requests.clear()

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _check_repo_type(repo_type: str) -> None:
        if repo_type not in REPO_TYPES:
            raise ValueError(f"invalid repo_type {repo_type!r}, expected one of {sorted(REPO_TYPES)}")

    def _get_repo(self, repo_type: str, repo_id: str) -> _Repo:
        try:
            return self._repos[(repo_type, repo_id)]
        except KeyError:
            raise KeyError(f"no {repo_type} repo {repo_id!r}") from None

    def _commit(self, repo: _Repo, branch: str, parent: str | None, contents: dict[str, bytes]) -> str:
        files: dict[str, HubFile] = {}
        for path, content in contents.items():
            if not path or path.startswith("/") or ".." in path.split("/"):
                raise ValueError(f"invalid path in repo: {path!r}")
            files[path] = HubFile(path=path, content=bytes(content), lfs=repo.is_lfs(path, content))
        digest = hashlib.sha1(f"{repo.repo_type}\0{repo.repo_id}\0{branch}\0{parent or ''}\0".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{files[path].etag}\0".encode())
        sha = digest.hexdigest()
        if sha in repo.commits and parent is not None:  # same tree pushed twice on the same parent
            sha = hashlib.sha1(f"{sha}\0{len(repo.commits)}".encode()).hexdigest()
        repo.commits[sha] = _Commit(sha=sha, parent=parent, files=files, timestamp=time.time())
        repo.branches[branch] = sha
        return sha

    def _find_repo(self, repo_type: str, segments: list[str], marker_index: tuple[int, ...]) -> int | None:
        """How many leading ``segments`` form the repo id (2 = ``org/name`` preferred, 1 = ``name``)."""
        candidates = [n for n in marker_index if n <= len(segments)]
        with self._lock:
            for n in candidates:
                if (repo_type, "/".join(segments[:n])) in self._repos:
                    return n
        return candidates[0] if candidates else None

    def _log(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))


class _Handler(BaseHTTPRequestHandler):
    """Request handler; all state lives in ``self.server.hub``."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeHub/1.0"
    timeout = 60
    server: _Server

    # -------------------------------------------------------------- plumbing

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._dispatch("POST")

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        raw_segments = split.path.strip("/").split("/")
        segments = [unquote(s) for s in raw_segments]
        self.hub._log(method, unquote(split.path))
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            if method in ("GET", "HEAD") and segments and segments[0] == "api":
                self._api(method, segments[1:], query)
            elif method in ("GET", "HEAD"):
                self._resolve(method, segments)
            else:
                raise _HttpError(405, f"{method} not supported by FakeHub")
        except _HttpError as err:
            self._send_error(method, err)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a FakeHub bug: make it visible to the client and in the test output
            traceback.print_exc()
            self.close_connection = True
            self._send_error(method, _HttpError(500, f"FakeHub internal error: {exc!r}"))

    def _send_error(self, method: str, err: _HttpError) -> None:
        body = json.dumps({"error": err.message}).encode()
        self.send_response(err.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Error-Message", err.message)
        if err.code:
            self.send_header("X-Error-Code", err.code)
        if err.commit:
            self.send_header("X-Repo-Commit", err.commit)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _send_json(self, method: str, payload: Any, extra_headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _lookup(self, repo_type: str, repo_id: str, revision: str) -> tuple[_Repo, _Commit]:
        with self.hub._lock:
            repo = self.hub._repos.get((repo_type, repo_id))
            if repo is None:
                raise _HttpError(404, "Repository not found", "RepoNotFound")
            commit = repo.resolve(revision)
            if commit is None:
                raise _HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            return repo, commit

    # -------------------------------------------------------------- /resolve

    def _resolve(self, method: str, segments: list[str]) -> None:
        repo_type = "model"
        if segments and segments[0] in _RESOLVE_PREFIX_TO_TYPE:
            repo_type = _RESOLVE_PREFIX_TO_TYPE[segments[0]]
            segments = segments[1:]
        n = self.hub._find_repo(
            repo_type,
            segments,
            tuple(i for i in (2, 1) if len(segments) > i + 2 and segments[i] == "resolve"),
        )
        if n is None:
            raise _HttpError(404, "Not Found")
        repo_id, revision, path = "/".join(segments[:n]), segments[n + 1], "/".join(segments[n + 2 :])
        _, commit = self._lookup(repo_type, repo_id, revision)
        hub_file = commit.files.get(path)
        if hub_file is None:
            raise _HttpError(404, f"Entry not found: {path}", "EntryNotFound", commit=commit.sha)
        self._serve_file(method, commit, hub_file)

    def _serve_file(self, method: str, commit: _Commit, hub_file: HubFile) -> None:
        total = hub_file.size
        start, end, status = 0, total - 1, 200
        range_header = self.headers.get("Range")
        if range_header and method == "GET":
            with self.hub._lock:
                self.hub.range_requests.append((hub_file.path, range_header))
            match = _RANGE.fullmatch(range_header)
            if match is None or match.groups() == ("", ""):
                raise _HttpError(416, f"Invalid range {range_header!r}")
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last), total - 1) if last else total - 1
            else:  # suffix range: last N bytes
                start, end = max(total - int(last), 0), total - 1
            if start >= total or start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{total}")
                self.send_header("Content-Length", "0")
                self.send_header("X-Repo-Commit", commit.sha)
                self.end_headers()
                return
            status = 206
        length = end - start + 1 if total else 0

        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{hub_file.etag}"')
        self.send_header("X-Repo-Commit", commit.sha)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        if hub_file.lfs:
            self.send_header("X-Linked-Etag", f'"{hub_file.sha256}"')
            self.send_header("X-Linked-Size", str(total))
            name = hub_file.path.rsplit("/", 1)[-1]
            self.send_header(
                "Content-Disposition", f"inline; filename*=UTF-8''{quote(name)}; filename=\"{name}\";"
            )
        self.end_headers()
        if method == "HEAD":
            return

        with self.hub._lock:
            fail_after = self.hub.fail_after_bytes.pop(hub_file.path, None)
        body = memoryview(hub_file.content)[start : end + 1]
        sent = 0
        while sent < length:
            rate = self.hub.throttle_bytes_per_second
            chunk = self.hub.chunk_size if not rate else max(1, min(self.hub.chunk_size, int(rate / 20)))
            if fail_after is not None:
                chunk = min(chunk, fail_after - sent)
                if chunk <= 0:
                    self._abort_connection()
                    return
            self.wfile.write(body[sent : sent + chunk])
            sent += chunk
            if rate:
                time.sleep(chunk / rate)
        with self.hub._lock:
            self.hub.downloads[hub_file.path] += 1

    def _abort_connection(self) -> None:
        """Drop the connection mid-body (the client sees a short read)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -------------------------------------------------------------- /api

    def _api(self, method: str, segments: list[str], query: dict[str, str]) -> None:
        if not segments or segments[0] not in _API_PLURAL_TO_TYPE:
            raise _HttpError(404, "Not Found")
        repo_type = _API_PLURAL_TO_TYPE[segments[0]]
        rest = segments[1:]
        n = self.hub._find_repo(repo_type, rest, (2, 1))
        if n is None:
            raise _HttpError(404, "Repository not found", "RepoNotFound")
        repo_id, tail = "/".join(rest[:n]), rest[n:]
        if not tail:
            self._repo_info(method, repo_type, repo_id, "main", query)
        elif tail[0] == "revision" and len(tail) >= 2:
            self._repo_info(method, repo_type, repo_id, "/".join(tail[1:]), query)
        elif tail[0] == "tree" and len(tail) >= 2:
            self._tree(method, repo_type, repo_id, tail[1], "/".join(tail[2:]), query)
        else:
            raise _HttpError(404, "Not Found")

    def _repo_info(
        self, method: str, repo_type: str, repo_id: str, revision: str, query: dict[str, str]
    ) -> None:
        repo, commit = self._lookup(repo_type, repo_id, revision)
        with_blobs = query.get("blobs", "").lower() == "true"
        siblings: list[dict[str, Any]] = []
        for path in sorted(commit.files):
            hub_file = commit.files[path]
            sibling: dict[str, Any] = {"rfilename": path}
            if with_blobs:
                sibling.update(size=hub_file.size, blobId=hub_file.blob_id)
                if hub_file.lfs:
                    sibling["lfs"] = {
                        "sha256": hub_file.sha256,
                        "size": hub_file.size,
                        "pointerSize": len(hub_file.lfs_pointer),
                    }
            siblings.append(sibling)
        payload: dict[str, Any] = {
            "_id": hashlib.sha1(f"{repo_type}/{repo_id}".encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo_id.split("/")[0] if "/" in repo_id else None,
            "sha": commit.sha,
            "lastModified": _iso(commit.timestamp),
            "createdAt": _iso(repo.created_at),
            "private": False,
            "gated": False,
            "disabled": False,
            "tags": [],
            "downloads": 0,
            "likes": 0,
            "siblings": siblings,
            "usedStorage": sum(f.size for f in commit.files.values()),
        }
        if repo_type == "model":
            payload["modelId"] = repo_id
        elif repo_type == "space":
            payload["sdk"] = "static"
        self._send_json(method, payload)

    def _tree(
        self, method: str, repo_type: str, repo_id: str, revision: str, prefix: str, query: dict[str, str]
    ) -> None:
        _, commit = self._lookup(repo_type, repo_id, revision)
        recursive = query.get("recursive", "").lower() == "true"
        prefix = prefix.strip("/")
        dirs: set[str] = set()
        for path in commit.files:
            parts = path.split("/")[:-1]
            dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        if prefix and prefix not in dirs:
            raise _HttpError(404, f"Entry not found: {prefix}", "EntryNotFound", commit=commit.sha)

        def visible(path: str) -> bool:
            if prefix and not path.startswith(prefix + "/"):
                return False
            rel = path[len(prefix) + 1 :] if prefix else path
            return recursive or "/" not in rel

        entries: list[dict[str, Any]] = []
        for directory in sorted(d for d in dirs if visible(d)):
            children = sorted(
                (p, f.blob_id) for p, f in commit.files.items() if p.startswith(directory + "/")
            )
            oid = hashlib.sha1(json.dumps(children).encode()).hexdigest()
            entries.append({"type": "directory", "oid": oid, "size": 0, "path": directory})
        for path in sorted(p for p in commit.files if visible(p)):
            hub_file = commit.files[path]
            entry: dict[str, Any] = {
                "type": "file",
                "oid": hub_file.blob_id,
                "size": hub_file.size,
                "path": path,
            }
            if hub_file.lfs:
                entry["lfs"] = {
                    "oid": hub_file.sha256,
                    "size": hub_file.size,
                    "pointerSize": len(hub_file.lfs_pointer),
                }
            entries.append(entry)

        page_size = max(1, self.hub.tree_page_size)
        offset = int(query.get("cursor") or 0)
        page = entries[offset : offset + page_size]
        headers: dict[str, str] = {}
        if offset + page_size < len(entries):
            plural = REPO_TYPES[repo_type][1]
            base = f"{self.hub.endpoint}/api/{plural}/{repo_id}/tree/{quote(revision, safe='')}"
            if prefix:
                base += "/" + quote(prefix, safe="")
            params = f"recursive={str(recursive).lower()}&expand=false&cursor={offset + page_size}"
            headers["Link"] = f'<{base}?{params}>; rel="next"'
        self._send_json(method, page, headers)


# ---------------------------------------------------------------------- client-side helpers

_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "ws_proxy", "wss_proxy"}


def hf_env(hub: FakeHub, **extra: str) -> dict[str, str]:
    """Environment for a subprocess that downloads from ``hub`` with the real ``huggingface_hub`` client.

    Copy of ``os.environ`` with ``HF_ENDPOINT`` pointing at the fake hub, telemetry (and with it the
    agent-detection registry fetch), Xet, progress bars and implicit tokens disabled, offline/staging modes
    cleared, short timeouts, and every proxy variable removed (``NO_PROXY=127.0.0.1,localhost``).  ``extra``
    entries win.
    """
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
    for key in ("HUGGINGFACE_CO_STAGING", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        env.pop(key, None)
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HUB_OFFLINE="0",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_XET="1",
        HF_HUB_ETAG_TIMEOUT="5",
        HF_HUB_DOWNLOAD_TIMEOUT="10",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


_DOWNLOAD_SCRIPT = """\
import json, sys
from huggingface_hub import hf_hub_download, snapshot_download
a = json.loads(sys.argv[1])
kw = {k: a[k] for k in ("repo_type", "revision", "cache_dir", "local_dir") if a.get(k) is not None}
if a.get("filename"):
    path = hf_hub_download(a["repo_id"], a["filename"], **kw)
else:
    path = snapshot_download(a["repo_id"], **kw)
print(path)
"""


class DownloadError(RuntimeError):
    """A `run_download` subprocess failed; ``result`` holds its `subprocess.CompletedProcess`."""

    def __init__(self, result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(
            f"download subprocess exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
        self.result = result


def _download_cmd(
    *,
    repo_id: str,
    cache_dir: str | os.PathLike[str] | None,
    local_dir: str | os.PathLike[str] | None,
    filename: str | None,
    revision: str | None,
    repo_type: str,
) -> list[str]:
    args = {
        "repo_id": repo_id,
        "cache_dir": os.fspath(cache_dir) if cache_dir is not None else None,
        "local_dir": os.fspath(local_dir) if local_dir is not None else None,
        "filename": filename,
        "revision": revision,
        "repo_type": repo_type,
    }
    return [sys.executable, "-c", _DOWNLOAD_SCRIPT, json.dumps(args)]


def start_download(
    hub: FakeHub,
    *,
    repo_id: str,
    cache_dir: str | os.PathLike[str] | None = None,
    local_dir: str | os.PathLike[str] | None = None,
    filename: str | None = None,
    revision: str | None = None,
    repo_type: str = "model",
    env_extra: Mapping[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start (without waiting) a subprocess running the real client against ``hub``; see `run_download`.

    stdout/stderr are pipes (text); the downloaded path is the last stdout line.
    """
    return subprocess.Popen(
        _download_cmd(
            repo_id=repo_id,
            cache_dir=cache_dir,
            local_dir=local_dir,
            filename=filename,
            revision=revision,
            repo_type=repo_type,
        ),
        env=hf_env(hub, **dict(env_extra or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_download(
    hub: FakeHub,
    *,
    repo_id: str,
    cache_dir: str | os.PathLike[str] | None = None,
    local_dir: str | os.PathLike[str] | None = None,
    filename: str | None = None,
    revision: str | None = None,
    repo_type: str = "model",
    env_extra: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Download from ``hub`` in a fresh ``python -c`` subprocess with the real ``huggingface_hub`` client.

    Calls ``hf_hub_download`` if ``filename`` is given, else ``snapshot_download``, with the `hf_env`
    environment (+ ``env_extra``).  Returns the completed process (``stdout.strip().splitlines()[-1]`` is the
    returned path); raises `DownloadError` (with stdout/stderr) on a non-zero exit and
    `subprocess.TimeoutExpired` after ``timeout`` seconds.
    """
    result = subprocess.run(
        _download_cmd(
            repo_id=repo_id,
            cache_dir=cache_dir,
            local_dir=local_dir,
            filename=filename,
            revision=revision,
            repo_type=repo_type,
        ),
        env=hf_env(hub, **dict(env_extra or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise DownloadError(result)
    return result


@contextlib.contextmanager
def hermetic_client() -> Iterator[None]:
    """Make the in-process ``huggingface_hub`` client safe to point at a `FakeHub` via ``endpoint=``.

    ``HF_ENDPOINT`` is read at import time, so in-process the client still believes huggingface.co is the Hub:
    without telemetry disabled, building the user agent fetches ``https://huggingface.co/api/agent-harnesses``
    (and caches it under ``HF_HOME``).  This context disables telemetry, Xet and implicit tokens, empties
    the agent registry, bypasses proxies for 127.0.0.1 and resets the shared HTTP client; everything is
    restored on exit.
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import _detect_agent, _http

    saved_constants = {
        name: getattr(constants, name)
        for name in ("HF_HUB_DISABLE_TELEMETRY", "HF_HUB_DISABLE_XET", "HF_HUB_DISABLE_IMPLICIT_TOKEN")
    }
    saved_registry = _detect_agent._registry
    saved_env = {k: os.environ.get(k) for k in ("NO_PROXY", "no_proxy")}
    try:
        for name in saved_constants:
            setattr(constants, name, True)
        _detect_agent._registry = {"standardEnvVars": [], "harnesses": {}}
        for key, value in saved_env.items():
            os.environ[key] = ",".join(x for x in (value, "127.0.0.1", "localhost") if x)
        _http.close_session()  # the next client is created with the patched environment
        yield
    finally:
        for name, value in saved_constants.items():
            setattr(constants, name, value)
        _detect_agent._registry = saved_registry
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _http.close_session()


def blob_names(repo_cache: str | os.PathLike[str]) -> set[str]:
    """Names of the complete blobs of a hub-cache repo folder (``.../models--org--name``)."""
    blobs = Path(repo_cache) / "blobs"
    return (
        {p.name for p in blobs.iterdir() if not p.name.endswith(".incomplete")} if blobs.is_dir() else set()
    )
