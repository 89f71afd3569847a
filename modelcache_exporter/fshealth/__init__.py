"""Filesystem health under each cache root: statvfs (time-boxed), mount facts, disk IO counters, the active probe."""
