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
        "expected_aud",
        "received_aud",
        "variable",
        "settings",
    }
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        if has_request_context() and "request_id" in g:
            line["request_id"] = g.request_id
        for key in SAFE_FIELDS:
            if key in record.__dict__:
                line[key] = record.__dict__[key]
        return orjson.dumps(line, default=str).decode()


def _message(record: logging.LogRecord) -> str:
    """The message with its %-arguments rendered; a record whose arguments do not fit its
    format keeps the format and names the problem (a log line must never raise)."""
    try:
        return record.getMessage()
    except (TypeError, ValueError):
        return f"{record.msg} (log arguments did not fit the message)"


#: the service's logger namespaces: ``hipspine.*`` and modules named by ``__name__``
NAMESPACES = ("hipspine", "service")


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (gunicorn and test captures swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str) -> None:
    """Send the service's logs (``hipspine.*``, ``service.*``) to stderr as JSON lines."""
    for name in NAMESPACES:
        logger = logging.getLogger(name)
        if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
            handler = StderrHandler()
            handler.setFormatter(JsonFormatter())
            logger.addHandler(handler)
        logger.setLevel(level)
        # hipspine.* stops here; service.* also propagates (the root logger has no handler
        # in production; test log captures listen there).
        logger.propagate = name != "hipspine"
