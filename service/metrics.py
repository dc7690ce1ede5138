"""Prometheus metrics: requests per endpoint, evaluations, audit writes, outbound FHIR calls.

Labels never carry a raw path, a patient id, a token or a URL path: endpoints are Flask URL
rules (``/fhir/Patient/<patient_id>/$hip-spine-evaluate``) and FHIR servers are reduced to
``scheme://host[:port]``.

Under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder
writable by the workers (``gunicorn.conf.py`` empties it at start-up): every worker then
writes its samples there and ``GET /metrics`` answers the sum over all workers, whichever
worker takes the scrape. Without it, each process reports only itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from service.audit.port import AuditStore, EvaluationRecord, FeedbackItem, StoredRecord

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
UNMATCHED = "(unmatched)"
#: HTTP methods labelled by name; any other method name a client invents is ``other`` (a label
#: per invented name would grow the series without bound).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "hipspine_http_requests",
    "HTTP requests answered, by endpoint (Flask URL rule), method and status",
    ("endpoint", "method", "status"),
)
REQUEST_SECONDS = Histogram(
    "hipspine_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint (Flask URL rule) and method",
    ("endpoint", "method"),
    buckets=_SECONDS,
)
EVALUATIONS = Counter(
    "hipspine_evaluations",
    "Evaluations recorded in the audit store, by category (its HSC code)",
    ("category",),
)
AUDIT_WRITE_SECONDS = Histogram(
    "hipspine_audit_write_duration_seconds",
    "Time to append one evaluation to the audit chain (successful writes and failures)",
    ("outcome",),
    buckets=_SECONDS,
)
FHIR_CALL_SECONDS = Histogram(
    "hipspine_fhir_call_duration_seconds",
    "Time of one outbound HTTP call to a FHIR server, by server origin and status",
    ("server", "status"),
    buckets=_SECONDS,
)
FHIR_CALL_ERRORS = Counter(
    "hipspine_fhir_call_errors",
    "Outbound FHIR calls that failed (network error, timeout, or an HTTP status >= 400)",
    ("server", "status"),
)


def server_label(url: str) -> str:
    """``scheme://host[:port]`` of a URL: never its path or query (they can name a patient)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "(unknown)"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def observe_fhir_call(server: str, status: int | str, seconds: float) -> None:
    """Record one outbound FHIR call.

    :param server: the server's base URL or the URL called (only its origin is kept).
    :param status: the HTTP status, or a short failure kind without a status
        (``"timeout"``, ``"connection"``, ``"too-large"``, ``"invalid-json"``).
    :param seconds: wall time of the call, response body included.
    """
    origin = server_label(server)
    label = str(status)
    FHIR_CALL_SECONDS.labels(origin, label).observe(max(seconds, 0.0))
    if not isinstance(status, int) or status >= 400:
        FHIR_CALL_ERRORS.labels(origin, label).inc()


class InstrumentedStore:
    """An AuditStore that times evaluation writes and counts evaluations by category."""

    def __init__(self, inner: AuditStore) -> None:
        self.inner = inner

    def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
        started = time.perf_counter()
        try:
            stored = self.inner.record_evaluation(record)
        except BaseException:
            AUDIT_WRITE_SECONDS.labels("error").observe(time.perf_counter() - started)
            raise
        AUDIT_WRITE_SECONDS.labels("ok").observe(time.perf_counter() - started)
        EVALUATIONS.labels(record.category).inc()
        return stored

    def record_feedback(self, items: Sequence[FeedbackItem]) -> int:
        return self.inner.record_feedback(items)

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        return self.inner.remember_jti(issuer, jti, expires_at)

    def ping(self) -> None:
        self.inner.ping()


def method_label(method: str) -> str:
    """The method as a metric label: one of :data:`METHODS`, else ``other``."""
    return method if method in METHODS else OTHER_METHOD


def exposition() -> bytes:
    """The metrics in Prometheus' text format: all workers' when multiprocess mode is on."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
