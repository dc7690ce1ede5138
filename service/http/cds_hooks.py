"""The CDS Hooks HTTP surface (blueprint ``bp``): discovery, services, feedback.

Collaborators come from the app at request time through the service registry
(:func:`service.http.registry.services`: ``.settings``, ``.pipeline``, ``.store``). Errors are
raised as :class:`service.errors.HipSpineError` and answered by the app-level handler
(:func:`service.http.web.register_error_handlers`): an OperationOutcome; a 401 carries no
detail (standards.md §1.8).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from flask import Blueprint, Response, jsonify, request

from service.audit.port import FeedbackItem
from service.cds_hooks.discovery import CdsService, discovery_document, service_by_id
from service.cds_hooks.fhir_fetch import Deadline
from service.cds_hooks.jwt_auth import Claims, bearer_token, verify
from service.cds_hooks.order_hooks import order_codes
from service.cds_hooks.schemas import load_feedback, load_hook_request
from service.config import Settings
from service.errors import NotFound
from service.hook_pipeline import answer_hook
from service.http.cors import add_cors_headers
from service.http.registry import services as registry_services
from service.http.registry import settings as registry_settings
from service.http.web import sent_request_id
from service.metrics import observe_fhir_call
from service.pipeline import Caller

log = logging.getLogger(__name__)
bp = Blueprint("cds_hooks", __name__)
bp.after_app_request(add_cors_headers)
UNAUTHENTICATED = "unauthenticated"


@bp.get("/cds-services", strict_slashes=False)
def discovery() -> Response:
    """:raise 401: without a valid JWT (when auth is required)."""
    _authenticate(_settings())
    return jsonify(discovery_document())


@bp.post("/cds-services/<service_id>", strict_slashes=False)
def invoke(service_id: str) -> Response:
    """:raise 401, 404, 400 (bad request or hook), 412 (data unobtainable)."""
    settings = _settings()
    deadline = Deadline(settings.fhir_deadline)
    claims = _authenticate(settings)
    service = _service(service_id)
    hook_request = _hook_request(service)
    caller = Caller(
        kind="cds-hooks",
        client=claims.client if claims else UNAUTHENTICATED,
        request_id=sent_request_id() or hook_request["hookInstance"],
        user=hook_request["context"].get("userId"),
        hook_instance=hook_request["hookInstance"],
        service_id=service.id,
        address=request.remote_addr,
    )
    services = registry_services()
    answer = answer_hook(
        service,
        hook_request,
        caller=caller,
        settings=settings,
        pipeline=services.pipeline,
        deadline=deadline,
        observe=observe_fhir_call,
        order_codes=order_codes(services.index),
    )
    return jsonify(answer)


@bp.post("/cds-services/<service_id>/feedback", strict_slashes=False)
def feedback(service_id: str) -> Response:
    """:raise 401, 404, 400 (a malformed item fails the batch), 503 (store)."""
    claims = _authenticate(_settings())
    service = _service(service_id)
    items = load_feedback(_json_body())
    caller = claims.client if claims else UNAUTHENTICATED
    registry_services().store.record_feedback(
        [_feedback_item(service, item, caller) for item in items]
    )
    return Response(status=200)


def _json_body() -> Any:
    """The body as JSON, or None when it is not JSON (then a 400 names what is missing).

    orjson, as the FHIR operation: JSON nested deeper than 1024 levels is not JSON here,
    where the standard library's parser would raise RecursionError (a 500).
    """
    try:
        return orjson.loads(request.get_data(cache=True))
    except orjson.JSONDecodeError:
        return None


def _settings() -> Settings:
    return registry_settings()


def _authenticate(settings: Settings) -> Claims | None:
    if not settings.cds_auth_required:
        return None
    token = bearer_token(request.headers.get("Authorization"))
    audience = settings.public_base_url.rstrip("/") + request.path
    store = registry_services().store
    return verify(token, audience_url=audience, settings=settings, store=store)


def _service(service_id: str) -> CdsService:
    service = service_by_id(service_id)
    if service is None:
        raise NotFound("no CDS service has this id")
    return service


def _hook_request(service: CdsService) -> dict[str, Any]:
    return load_hook_request(_json_body(), service.hook)


def _feedback_item(service: CdsService, item: dict[str, Any], caller: str) -> FeedbackItem:
    return FeedbackItem(
        service_id=service.id,
        card_uuid=item["card"],
        outcome=item["outcome"],
        outcome_timestamp=item["outcomeTimestamp"],
        accepted_suggestions=tuple(s["id"] for s in item.get("acceptedSuggestions", ())),
        override_reason=item.get("overrideReason"),
        caller=caller,
    )
