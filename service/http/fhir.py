"""FHIR REST surface (``/fhir``): metadata, the OperationDefinition, ``$hip-spine-evaluate``."""

from __future__ import annotations

import re

from flask import Blueprint, Response, request

from service.errors import InvalidInput
from service.fhir.capability import capability_statement
from service.http.api_auth import authenticate
from service.http.registry import services
from service.http.web import check_accept, fhir_response, json_body, request_id
from service.pipeline import Caller

bp = Blueprint("fhir", __name__, url_prefix="/fhir")

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # R4 id datatype


@bp.get("/metadata")
def metadata() -> Response:
    check_accept()
    svc = services()
    return fhir_response(
        capability_statement(
            svc.profiles,
            base_url=svc.settings.public_base_url,
            software_version=svc.version,
        )
    )


@bp.get("/OperationDefinition/hip-spine-evaluate")
def operation_definition() -> Response:
    check_accept()
    return fhir_response(services().profiles.operation_definition)


@bp.post("/$hip-spine-evaluate")
def evaluate() -> Response:
    """Evaluate a Bundle (or Parameters with ``observations``); answer a collection Bundle.

    :raise 400/415/413/422: the caller's input (OperationOutcome with ``expression``).
    :raise 503: the audit store could not record the evaluation.
    """
    return _evaluate(patient_id=None)


@bp.post("/Patient/<patient_id>/$hip-spine-evaluate")
def evaluate_patient(patient_id: str) -> Response:
    """The same for one patient: every subject in the Bundle must be ``Patient/{id}``."""
    if not _FHIR_ID.match(patient_id):
        raise InvalidInput(f"'{patient_id}' is not a valid FHIR id", ("Patient.id",))
    return _evaluate(patient_id=patient_id)


def _evaluate(patient_id: str | None) -> Response:
    svc = services()
    client = authenticate(request.headers.get("Authorization"), svc.settings.fhir_api_clients)
    check_accept()
    payload = json_body()
    caller = Caller(
        kind="fhir-api", client=client, request_id=request_id(), address=request.remote_addr
    )
    result = svc.pipeline.evaluate(payload, caller=caller, patient_id=patient_id)
    return fhir_response(result.bundle)
