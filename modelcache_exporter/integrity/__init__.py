"""Offline integrity: every cached file whose name or metadata is a content hash, hashed and compared.

`targets` finds what can be verified (pure reads, frozen results); `hashing` hashes one file under an IO
budget; `results` remembers each verdict by file identity (a restart re-hashes nothing unchanged); `run`
verifies one model (what the worker process runs); `verifier` is the exporter's background pass over every
root, in a worker process; `names` tells which snapshot files a blob is (for `check --verify`).
"""
