"""Web UI logs: rotation-safe tailing, parser profiles (data), load time and download events.

Layers, from the disk up: `follow`/`tailer`/`stdin` read bytes (rotation, truncation, positions),
`assemble`/`decode` turn them into bounded lines, `rules`/`profiles` map a line to a rule (pure),
`interpret` (+ `apphandlers`, `dlhandlers` on `shared` state) turns hits into state (`downloads`, `loadtime`, `stats`)
and `LogEvent`s, `runner`/`monitor` run it on one background thread, `webui` watches the process
and probes readiness on another. Collectors read the state; a scrape never touches a file.

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
  every `--collector.logs.position-interval` and on stop. On restart a position is used only if
  all of these still match (else the file is new: read from 0 as backlog).
* Bounds: lines are cut at `--collector.logs.max-line-bytes` (the head kept; for `\\r` lines the
  latest state); the repo label is capped at `--collector.logs.max-repos` (then `(other)`);
  at most 256 downloads in progress and 64 files per source are tracked.
"""
