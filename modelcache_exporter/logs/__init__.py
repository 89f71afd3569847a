"""Web UI logs: rotation-safe tailing, parser profiles (data), load time and download events.

Layers, from the disk up; each writes to the one above and none calls back down-to-up:

* `tail/` reads files: `follow`/`tailer`/`stdin` read bytes (rotation, truncation, positions),
  `assemble`/`decode` turn them into bounded lines and hand `Chunk`s to a sink.
* `rules/` is data and pure functions: `rules`/`profiles` map a line to a rule, `sources` are the
  configured sources and patterns, `parse` the line helpers.
* `runner` is a source's sink: it feeds its `interpret`er under the lock of a `RunnerSink`; the
  interpreter's handlers (`apphandlers`, `dlhandlers`) update the `shared` state (`downloads`,
  `loadtime`, `stats`) and queue `LogEvent`s (`emit`, `events`).
* `monitor` runs the runners on one background thread (the `webui` package watches the process and
  probes readiness on another) and publishes a frozen `snapshot` after each round and each change.
  Collectors read the snapshot, without the lock; a scrape never touches a file.

Policies, decided on purpose:

* Lines: bytes, split on `\\n` only. A line with `\\r` updates (tqdm) is one line; its current
  state is its last `\\r` segment with content. Partial last lines are held until their `\\n`
  (a partial progress line is peeked at for download progress). ANSI escapes are removed.
* First sight of an existing file (no saved position): with `--collector.logs.read-backlog`
  (default) it is read from the start as untimed history: events, downloads and errors count,
  the app's state (loading/ready) is reconstructed, but no duration is recorded from it unless
  the lines carry their own timestamps (Docker, CRI). Without it, reading starts at the line
  being written. A file that appears, is replaced or truncated while running is read from 0, live.
* Positions: `<state>/logs/positions.json` keeps, per file, (device, inode), the offset after the
  last complete line, a digest of the head and the bytes before the offset; saved atomically
  every `--collector.logs.position-interval` (1 s, when one changed) and on stop. At-least-once:
  a crash re-reads at most that interval of lines. On restart a position is used only if all of
  these still match (else the file is new: read from 0 as backlog); a file renamed next to its
  path while the exporter was down (`webui.log.1`) is finished from its position first.
* Bounds: lines are cut at `--collector.logs.max-line-bytes` (the head kept; for `\\r` lines the
  latest state); the repo label is capped at `--collector.logs.max-repos` (then `(other)`);
  at most 256 downloads in progress and 64 files per source are tracked.
"""
