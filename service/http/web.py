"""HTTP plumbing shared by the blueprints: request ids, FHIR JSON bodies, error answers.

Every error on every surface (FHIR, CDS Hooks, audit export, ops) leaves as an OperationOutcome
(never HTML, never a stack trace) from the app-level handlers here; blueprints register none.
They are registered on ``HipSpineError`` (our family: status, issues and headers such as
``WWW-Authenticate`` and ``Retry-After`` come from the error), werkzeug's ``HTTPException``
(404, 405, 413, …) and, last, ``Exception`` (a bare 500 that logs only the request id and the
exception type).
"""

from __future__ import annotations

import io
import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from service.errors import (
    HipSpineError,
    InvalidInput,
    Issue,
    NotAcceptable,
    UnsupportedMediaType,
)
from service.fhir.outcome import operation_outcome
from service.fhir_server.policy import FhirServerNotAllowed
from service.metrics import REQUEST_SECONDS, REQUESTS, UNMATCHED, method_label

log = logging.getLogger("hipspine.http")

FHIR_JSON = "application/fhir+json"
_JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
_ACCEPTABLE = frozenset({*_JSON_TYPES, "*/*", "application/*"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# werkzeug HTTP status -> OperationOutcome issue code
_HTTP_ISSUE_CODES = {
    400: "invalid",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    413: "too-costly",
    415: "not-supported",
}


def sent_request_id() -> str | None:
    """The caller's ``X-Request-Id`` if sane (letters, digits, ``._:-``, ≤ 64), else None."""
    sent = request.headers.get("X-Request-Id", "")
    return sent if _REQUEST_ID.match(sent) else None


def request_id() -> str:
    """The request's id: a sane ``X-Request-Id`` from the caller, else a fresh UUID."""
    rid = g.get("request_id")
    if rid is None:
        rid = sent_request_id() or str(uuid.uuid4())
        g.request_id = rid
    return str(rid)


def fhir_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=FHIR_JSON)


def outcome_response(status: int, issues: tuple[Issue, ...]) -> Response:
    """The service's error answer: an OperationOutcome (``service.workers`` sends the same body
    on a raw socket, see ``outcome_answer`` there)."""
    return fhir_response(operation_outcome(issues), status)


def too_large_issue(limit: int | None) -> Issue:
    """The 413's issue, wherever the body is refused (werkzeug, the buffering worker)."""
    return Issue("error", "too-costly", f"the request body is larger than {limit} bytes")


def check_accept() -> None:
    """406 when the caller accepts no JSON form we can send (standards.md §7 item 41)."""
    accept = request.accept_mimetypes
    if not accept or not request.headers.get("Accept"):
        return
    if not any(mt.split(";")[0].strip() in _ACCEPTABLE for mt, _q in accept if _q > 0):
        raise NotAcceptable(
            f"cannot produce any of the accepted types; this server answers {FHIR_JSON}"
        )


def json_body() -> Any:
    """Parse the FHIR request body as JSON, answering 415/400 (and 413, from werkzeug's
    MAX_CONTENT_LENGTH check) for the caller's mistakes."""
    mimetype = request.mimetype
    if mimetype not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {mimetype or '(none)'} is not supported; "
            f"send {FHIR_JSON} or application/json"
        )
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise InvalidInput("the request body is empty", ("Bundle",))
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}",
            ("Bundle",),
        ) from None


#: A too-large body is read and thrown away up to this many bytes before the 413 leaves:
#: clients that send the whole body before reading the answer (Python's urllib, requests)
#: otherwise meet a connection reset instead of the OperationOutcome. Beyond it, the
#: connection is closed unread (the bound keeps a hostile upload from holding a worker).
DRAIN_LIMIT = 64 * 1024 * 1024
#: ... and for at most this long: a client trickling a large body must not hold a thread.
DRAIN_SECONDS = 10.0
_DRAIN_CHUNK = 64 * 1024


def drain_body(
    environ: Mapping[str, Any], limit: int = DRAIN_LIMIT, seconds: float = DRAIN_SECONDS
) -> bool:
    """Read and discard the request body (up to ``limit`` bytes and ``seconds``); True when
    all was read."""
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        return False
    if stream is None or length > limit:
        return False
    if length < 0 and not environ.get("wsgi.input_terminated"):
        return False  # no length and no end marker: reading could block
    remaining = length if length >= 0 else limit
    give_up = time.monotonic() + seconds
    try:
        while remaining > 0:
            if time.monotonic() > give_up:
                return False
            chunk = stream.read(min(_DRAIN_CHUNK, remaining))
            if not chunk:
                return length < 0
            remaining -= len(chunk)
    except (OSError, ValueError):
        return False
    return length >= 0


class StreamedBodyLimit:
    """WSGI middleware: a body without ``Content-Length`` (chunked) over ``limit`` is a 413.

    werkzeug caps such a stream at ``MAX_CONTENT_LENGTH`` but reads it only *up to* the
    limit: a longer body was cut there and evaluated (issue 12 item 9). This reads it first
    (up to ``limit`` + 1 bytes); within the limit the app gets it with its length, over it
    the app sees a declared length over the limit (werkzeug's 413, answered by the handler
    below as an OperationOutcome) after the rest is drained up to ``DRAIN_LIMIT``.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("CONTENT_LENGTH") in (None, "") and environ.get("wsgi.input_terminated"):
            stream = environ["wsgi.input"]
            data = bytearray()
            try:
                while len(data) <= self.limit:
                    chunk = stream.read(min(_DRAIN_CHUNK, self.limit + 1 - len(data)))
                    if not chunk:
                        break
                    data += chunk
                if len(data) > self.limit:
                    drain_body(environ)  # the rest, bounded: the 413 then reaches the client
            except (OSError, ValueError):
                pass  # a broken stream: the app reads what arrived and answers for it
            environ["wsgi.input"] = io.BytesIO(bytes(data))
            environ["CONTENT_LENGTH"] = str(len(data))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


def _development_mode() -> bool:
    # the registry's settings (service.http.registry); an app without them is no development app
    settings = getattr(current_app.extensions.get("hipspine"), "settings", None)
    return bool(getattr(settings, "cds_trust_sandbox_key", False))


def _refusal_reason(exc: HipSpineError) -> str:
    """Why a 403/412 was answered, fit for the log: a refused fhirServer says so in full; other
    412s only by kind (their diagnostics can quote a FHIR server's words about a patient)."""
    if isinstance(exc, FhirServerNotAllowed):
        return f"fhirServer-not-allowlisted: {exc.diagnostics}"
    if exc.status == 403:
        return f"forbidden: {exc.diagnostics}"
    return f"data-unavailable ({type(exc).__name__})"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HipSpineError)
    def _ours(exc: HipSpineError) -> Response:
        issues = exc.public_issues
        if exc.status == 401:  # the reason goes to the log only, never to the caller
            fields = getattr(exc, "log_fields", {})  # e.g. expected_aud / received_aud
            log.info("401 unauthorized", extra={"reason": exc.diagnostics, **fields})
            if _development_mode():  # the sandbox key is trusted: say why, to the developer
                issues = (Issue("error", exc.issue_code, f"unauthorized: {exc.diagnostics}"),)
        elif exc.status in (403, 412):
            log.info(f"{exc.status} refused", extra={"reason": _refusal_reason(exc)})
        resp = outcome_response(exc.status, issues)
        resp.headers.update(exc.headers)
        return resp

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        text = {
            404: "no such endpoint: see GET /fhir/metadata and GET /cds-services",
            405: f"method {request.method} is not allowed here",
        }.get(status, exc.description or exc.name)
        code = _HTTP_ISSUE_CODES.get(status, "processing" if status < 500 else "exception")
        issue = Issue("error", code, str(text))
        if status == 413:
            issue = too_large_issue(app.config.get("MAX_CONTENT_LENGTH"))
        resp = outcome_response(status, (issue,))
        if status == 413:
            drain_body(request.environ)
        if status == 405 and exc.response is None:
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                resp.headers["Allow"] = ", ".join(sorted(allowed))
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Log the type and where, not the message: messages can quote patient data.
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        log.error("unhandled error", extra={"error_type": type(exc).__name__, "where": where})
        return outcome_response(
            500,
            (
                Issue(
                    "fatal",
                    "exception",
                    f"internal error; quote request id {request_id()} to the operators",
                ),
            ),
        )


def register_request_metrics(app: Flask) -> None:
    """Count and time every request by its URL rule (never the raw path)."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(resp: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
        started = g.get("metrics_started")
        if started is not None:
            elapsed = time.perf_counter() - started
            REQUEST_SECONDS.labels(endpoint, method_label(request.method)).observe(elapsed)
        REQUESTS.labels(endpoint, method_label(request.method), str(resp.status_code)).inc()
        return resp
