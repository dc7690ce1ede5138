"""Structured JSON logs carrying the request id and never patient data, tokens or JWTs.

Only whitelisted ``extra`` fields are written: a stray ``log.info(..., extra={"body": ...})``
cannot leak a payload, because unknown fields are dropped.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import orjson
from flask import g, has_request_context
from gunicorn import glogging

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


#: gunicorn messages whose arguments are safe to write (versions, addresses it listens on,
#: pids, signal names, worker classes): any other message is written without its arguments.
GUNICORN_SAFE_TEMPLATES = frozenset(
    {
        "Starting gunicorn %s",
        "Listening at: %s (%s)",
        "Listening at: %s",
        "Using worker: %s",
        "Booting worker with pid: %s",
        "Worker exiting (pid: %s)",
        "Handling signal: %s",
        "Ignoring unknown signal: %s",
        "Unhandled signal: %s",
        "Hang up: %s",
        "WORKER TIMEOUT (pid:%s)",
        "Worker (pid:%s) exited with code %s.",
        "Worker (pid:%s) exited with code %s",
        "Worker (pid:%s) was sent SIGKILL! Perhaps out of memory?",
        "Worker (pid:%s) was sent code %s!",
        "Worker (pid:%s) was sent %s!",
        "Connection in use: %s",
        "Invalid address: %s",
        "Can't connect to %s",
        "Shutting down: %s",
        "WSGI app sent body bytes on a no-body response (method=%s status=%s); "
        "dropping per RFC 9110.",
    }
)
#: gunicorn messages formatted before they are logged that quote the request (its line, a
#: header line with its value): only this prefix is written, with the error's type.
_REQUEST_QUOTING_PREFIXES = ("Invalid request from ip=",)


class GunicornJsonFormatter(logging.Formatter):
    """gunicorn's error log as JSON lines without request lines, header lines or values.

    A message is written with its arguments only when its template is known to carry none of
    the request (:data:`GUNICORN_SAFE_TEMPLATES`); a message gunicorn formats itself from a
    request (``Invalid request from ip=…: Invalid HTTP Header: 'Authorization Bearer …'``)
    becomes a fixed text and the error's type; an exception is written as its type and the
    frames it passed through (file, line, function), never its message.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = _gunicorn_message(record)
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "pid": record.process,
        }
        if isinstance(record.msg, str) and record.msg.startswith(_REQUEST_QUOTING_PREFIXES):
            error = sys.exc_info()[1]  # logged inside gunicorn's except block
            if error is not None:
                line["error_type"] = type(error).__name__
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error_type"] = type(error).__name__
            line["trace"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(error.__traceback__)
            ]
        return orjson.dumps(line, default=str).decode()


def _gunicorn_message(record: logging.LogRecord) -> str:
    msg = record.msg
    if isinstance(msg, BaseException):  # log.exception(e): the type only
        return type(msg).__name__
    if not isinstance(msg, str):
        return type(msg).__name__
    for prefix in _REQUEST_QUOTING_PREFIXES:
        if msg.startswith(prefix):
            return "Invalid request refused"
    if record.args:
        return record.getMessage() if msg in GUNICORN_SAFE_TEMPLATES else msg
    return msg.split("\n", 1)[0]  # e.g. the debug configuration dump: its title only


class GunicornLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger with :class:`GunicornJsonFormatter` on its error log
    (``logger_class`` in gunicorn.conf.py and ``hipspine serve``). The access log keeps its
    own JSON format (``access_log_format``)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(GunicornJsonFormatter())
        # gunicorn.http.* log on their own (a HEAD answer's dropped body): same handlers, or
        # Python's last-resort handler would print them as plain text.
        http_log = logging.getLogger("gunicorn.http")
        http_log.handlers = list(self.error_log.handlers)
        http_log.setLevel(self.error_log.level)
        http_log.propagate = False
