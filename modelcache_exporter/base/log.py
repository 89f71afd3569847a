"""Structured log lines in logfmt (default) or JSON, like the Prometheus exporters' go-kit logs."""

from __future__ import annotations

import json
import logging
import sys
import time

from modelcache_exporter.base.names import label_text

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}


def _quote(value: object) -> str:
    text = label_text(str(value))  # a file name that is not UTF-8 shows as its label does
    if text and all(c.isalnum() or c in "-._/:@+" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


class Formatter(logging.Formatter):
    """`ts=… level=… caller=… msg="…" key=value…`; extra fields come from `extra={"kv": {...}}`."""

    def __init__(self, fmt: str = "logfmt") -> None:
        super().__init__()
        self.json = fmt == "json"

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        fields: dict[str, object] = {
            "ts": stamp,
            "level": _NAMES.get(record.levelno, "info"),
            "caller": f"{record.module}:{record.lineno}",
            "msg": record.getMessage(),
        }
        fields.update(getattr(record, "kv", {}))
        if record.exc_info:
            fields["err"] = self.formatException(record.exc_info).splitlines()[-1]
        if self.json:
            return json.dumps(fields, ensure_ascii=False, default=str)
        return " ".join(f"{k}={_quote(v)}" for k, v in fields.items())


#: The root of every logger of this package (each module logs to `logging.getLogger(__name__)`).
PACKAGE = __name__.split(".")[0]


def setup(level: str = "info", fmt: str = "logfmt") -> None:
    """Send the package's loggers to stderr at `level`; other libraries' loggers stay quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Formatter(fmt))
    logger = logging.getLogger(PACKAGE)
    logger.handlers[:] = [handler]
    logger.setLevel(LEVELS[level])
    logger.propagate = False


def kv(**fields: object) -> dict[str, dict[str, object]]:
    """`log.info("msg", extra=kv(root="hub"))`."""
    return {"kv": fields}
