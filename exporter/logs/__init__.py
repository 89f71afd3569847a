"""Web UI logs: rotation-safe tailing, parser profiles (data), load time and download events.

Layers, from the disk up: `follow`/`tailer` read bytes (rotation, truncation, positions),
`assemble`/`decode` turn them into bounded lines, `rules`/`profiles` map a line to a rule (pure),
`interpret` turns hits into state (`downloads`, `loadtime`, `stats`) and `LogEvent`s, `monitor`
runs it all on one background thread, `webui` watches the process and probes readiness.
"""
