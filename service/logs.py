"""Structured JSON logs carrying the request id and never patient data, tokens or JWTs.

Only whitelisted ``extra`` fields are written: a stray ``log.info(..., extra={"body": ...})``
cannot leak a payload, because unknown fields are dropped.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
from flask import g, has_request_context

#: extra fields allowed into a log line (none of them carries patient data or credentials)
SAFE_FIELDS = frozenset(
    {
        "method",
        "route",
        "status",
        "duration_ms",
        "reason",
        "error_type",
        "where",
        "category",
        "rule",
        "issuer",
        "jti",
        "service_id",
        "count",
        "seq",
    }
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage() if not record.args else record.msg,
        }
        if has_request_context() and "request_id" in g:
            line["request_id"] = g.request_id
        for key in SAFE_FIELDS:
            if key in record.__dict__:
                line[key] = record.__dict__[key]
        return orjson.dumps(line, default=str).decode()


def configure(level: str) -> None:
    """Send the service's logs (``hipspine.*``) to stderr as JSON lines."""
    logger = logging.getLogger("hipspine")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
