"""The web UI process and its readiness, watched from a thread (psutil, an HTTP probe)."""
