"""The download handlers of the interpreter: progress bars, explicit start/finish lines, repo context.

A bar counts as a file download only when its rate is in bytes (`B/s`); items bars (`Fetching N
files`, `Processing N items`) and huggingface_hub's aggregate bars are not downloads. A bar is
final when its line ended (`\\n`) at 100 % with done == total, or when a bar without a total ended.
"""

from __future__ import annotations

import re

from modelcache_exporter.logs.downloads import Bar, Stamp
from modelcache_exporter.logs.rules.parse import basename, parse_size, repo_from_path, text, valid_repo
from modelcache_exporter.logs.rules.rules import Compiled
from modelcache_exporter.logs.shared import Handler, Shared, SourceContext, group, number

AGGREGATE_BARS = (b"Downloading (incomplete", b"Download complete", b"Downloading bytes", b"Reconstruct")


class DownloadHandlers:
    """The actions of download lines, for one source; `stage` handles a settle line that also ends a
    stage (the web UI's stage handler)."""

    def __init__(self, shared: Shared, ctx: SourceContext, stage: Handler) -> None:
        self.shared, self.ctx, self.stage = shared, ctx, stage

    def handlers(self) -> dict[str, Handler]:
        """Action name -> handler."""
        return {
            "progress": self.progress,
            "dl_start": self.dl_start,
            "dl_done": self.dl_done,
            "dl_settle": self.dl_settle,
            "repo": self.repo,
        }

    def progress(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """A progress bar's state (`complete`: its line ended)."""
        desc, n, rate = m.group("desc", "n", "rate")
        if b"B/s" not in rate:
            return  # an items bar (Fetching N files, Processing N items), not a file
        source = c.source or "hf"
        if source == "hf" and desc[:1] in b"DR":
            if desc.startswith(AGGREGATE_BARS):
                return
            desc = desc[12:] if desc.startswith(b"Downloading ") else b"" if desc == b"Downloading" else desc
        size = parse_size(n, c.base)
        if c.has_total:
            total_text, pct = m.group("total", "pct")
            final = complete and pct == b"100" and n == total_text
            total = size if n == total_text else parse_size(total_text, c.base)
        else:
            final, total = complete, size
        file = desc.decode("utf-8", "replace")
        bar = Bar(size, total, m.group("el"), final, m.group(0))
        self.shared.downloads.progress(at, source, file, self.repo_for(file), bar)

    def repo_for(self, file: str) -> str:
        """The repo a bar belongs to: profile hints by stage and file name, else the log's context."""
        hints = self.ctx.table.hints
        return hints.get((self.ctx.last_stage, file)) or hints.get(("", file)) or self.ctx.context_repo

    def dl_start(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """An explicit download start line (file, repo and size from its captures or the rule)."""
        source = c.attrs.get("source", "custom")
        label = text(group(c, m, "label"))
        incomplete = text(group(c, m, "incomplete"))
        file = text(group(c, m, "file")) or c.attrs.get("file", "") or basename(text(group(c, m, "dest"))) or label
        repo = text(group(c, m, "repo")) or self.ctx.table.aliases.get(label, "") or repo_from_path(incomplete)
        repo = repo or (label if valid_repo(label) else "") or c.attrs.get("repo", "")
        total = number(group(c, m, "expected")) or number(group(c, m, "bytes"))
        if c.attrs.get("load"):
            self.shared.load.log_loading(at.time, at.timed)
        if c.attrs.get("sequential"):
            self.shared.downloads.settle(at, source)
        self.shared.downloads.start(at, source, file, repo, int(total) if total else None, incomplete)

    def dl_done(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """An explicit download finished line."""
        dest = text(group(c, m, "dest")) or text(group(c, m, "file")) or c.attrs.get("file", "")
        self.shared.downloads.done(at, c.attrs.get("source", "custom"), dest)

    def dl_settle(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """A line after which the source's downloads in progress are over (and maybe a stage ended)."""
        self.shared.downloads.settle(at, c.attrs.get("source", "custom"))
        if "stage" in c.attrs:
            self.stage(c, m, at, complete)

    def repo(self, c: Compiled, m: re.Match[bytes], at: Stamp, complete: bool) -> None:
        """A line naming the repo the next bars belong to."""
        repo = text(group(c, m, "repo"))
        if not repo and "repo_dir" in c.groups:
            repo = "/".join(text(m.group("repo_dir")).replace("\\", "/").rstrip("/").split("/")[-2:])
        self.ctx.context_repo = repo if valid_repo(repo) else ""
