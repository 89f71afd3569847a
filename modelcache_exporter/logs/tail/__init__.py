"""Reading log files: rotation-safe following (`follow`, `tailer`, `stdin`, `rotation`), saved read
positions (`positions`), and bytes into bounded lines (`assemble`, `decode` for Docker and CRI).

Nothing here knows what a line means: a tailer hands `Chunk`s of lines and file notices to a `Sink`.
"""
