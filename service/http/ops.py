"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response

from service.errors import Issue
from service.http.registry import services
from service.http.web import fhir_response, outcome_response
from service.metrics import CONTENT_TYPE, exposition

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers."""
    return fhir_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: the store answers and the rule set is loaded."""
    svc = services()
    svc.store.ping()  # raises StoreUnavailable -> 503
    if not svc.profiles.rule_set.version:
        return outcome_response(503, (Issue("error", "exception", "rule set not loaded"),))
    return fhir_response(
        {"status": "ready", "ruleSet": svc.profiles.rule_set.canonical, "version": svc.version}
    )


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition (every worker's samples in multiprocess mode)."""
    return Response(exposition(), status=200, headers={"Content-Type": CONTENT_TYPE})
