"""FHIR R4 audit resources of an evaluation: BALP-style AuditEvent, CDS Hooks GuidanceResponse.

Pure builders (standards.md §4.5, §7 items 52 and 54): times come in as arguments and ids
derive from the request, so a replayed request gives the same ids. Only who asked is kept
(issuer, tenant, client id), never a token. The resources kept for the audit export refer to
each other by ``Type/id`` (:func:`with_local_references`): a reader of NDJSON cannot resolve a
``urn:uuid`` (issue 10 item 4).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from service.fhir.outputs import DEVICE_REF
from service.fhir.validated import json_ready

AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
AUDIT_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
CDS_HOOKS_ENDPOINT_EXT = "http://hl7.org/fhir/StructureDefinition/cqf-cdsHooksEndpoint"
AUDIT_NAMESPACE = uuid.UUID("2f6f1c1e-6b8a-5d2e-9a51-0c0f6c8f4a11")

_REST = {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"}
_OPERATION = {"system": RESTFUL_INTERACTION, "code": "operation", "display": "operation"}
_SOURCE_ROLE = {"system": DCM, "code": "110153", "display": "Source Role ID"}
_DESTINATION_ROLE = {"system": DCM, "code": "110152", "display": "Destination Role ID"}
_AUTHOR = {"system": PARTICIPATION_TYPE, "code": "AUT", "display": "author (originator)"}
_APP_SERVER = {"system": SECURITY_SOURCE_TYPE, "code": "4", "display": "Application Server"}
_PERSON = {"system": AUDIT_ENTITY_TYPE, "code": "1", "display": "Person"}
_SYSTEM_OBJECT = {"system": AUDIT_ENTITY_TYPE, "code": "2", "display": "System Object"}
_PATIENT_ROLE = {"system": OBJECT_ROLE, "code": "1", "display": "Patient"}
_DOMAIN_RESOURCE = {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"}
_TRANSACTION = {"system": BALP_ENTITY_TYPE, "code": "XrequestId", "display": "X-Request-Id"}
_NETWORK_URI = "5"  # AuditEventAgentNetworkType: URI
_NETWORK_IP = "2"  # AuditEventAgentNetworkType: IP address
_SOURCE = {"observer": {"reference": DEVICE_REF}, "type": [_APP_SERVER]}


def with_local_references(resources: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``resources`` with every ``urn:uuid:<id>`` reference to one of them as ``Type/id``.

    The answer Bundle links its entries by ``urn:uuid`` fullUrls; the audit export writes one
    NDJSON file per type, where only ``Type/id`` resolves. References to anything else (inputs,
    the patient) are left as they are.
    """
    items = [dict(r) for r in resources]
    local = {f"urn:uuid:{r['id']}": f"{r['resourceType']}/{r['id']}" for r in items if r.get("id")}
    # On the JSON text (a fourth of the cost of a walk over the dicts): in orjson's output the
    # bytes '"reference":"<urn>"' are always a key and its whole value, since the quotes of a
    # string's content are escaped (tests/audit/test_audit_resources.py compares with a walk).
    data = orjson.dumps(items)
    for urn, ref in local.items():
        data = data.replace(
            b'"reference":' + orjson.dumps(urn), b'"reference":' + orjson.dumps(ref)
        )
    result: list[dict[str, Any]] = orjson.loads(data)
    return result


def audit_id(*parts: str) -> str:
    """A deterministic id (UUID v5) for an audit resource of one request."""
    return str(uuid.uuid5(AUDIT_NAMESPACE, "|".join(parts)))


def _service_agent(service_base_url: str) -> dict[str, Any]:
    """This service as the destination agent, reached at ``service_base_url``."""
    return {
        "type": {"coding": [_DESTINATION_ROLE]},
        "who": {"reference": DEVICE_REF, "display": "hipspine-cds"},
        "requestor": False,
        "network": {"address": service_base_url, "type": _NETWORK_URI},
    }


def audit_event(
    *,
    recorded: datetime,
    caller_kind: str,
    client: str,
    user: str | None,
    patient_ref: str,
    request_id: str,
    hook_instance: str | None,
    output_refs: Sequence[str],
    service_base_url: str,
    outcome: str = "0",
    client_address: str | None = None,
) -> dict[str, Any]:
    """The AuditEvent of one evaluation (BALP has no CDS Hooks profile: its closest pattern,
    ``rest`` + ``restful-interaction#operation``, action E).

    ``client`` is the JWT ``iss`` (``|tenant``), the API client or ``cli:<user>``; ``user`` a
    reference such as ``Practitioner/123``. The transaction entity carries the hookInstance
    for CDS Hooks calls, else the request id.
    """
    agents: list[dict[str, Any]] = [
        {
            "type": {"coding": [_SOURCE_ROLE]},
            "who": {"identifier": {"value": client}, "display": f"{caller_kind} client {client}"},
            "requestor": user is None,
            # BALP: network 1..1 for the client; unknown for the CLI (no network involved)
            "network": (
                {"address": client_address, "type": _NETWORK_IP} if client_address else None
            ),
        },
        _service_agent(service_base_url),
    ]
    if user is not None:
        agents.append(
            {"type": {"coding": [_AUTHOR]}, "who": {"reference": user}, "requestor": True}
        )
    entities: list[dict[str, Any]] = [
        {"what": {"reference": patient_ref}, "type": _PERSON, "role": _PATIENT_ROLE},
        {
            "what": {"identifier": {"value": hook_instance or request_id}},
            "type": _TRANSACTION,
            "name": "hookInstance" if hook_instance else "request id",
        },
    ]
    entities += [
        {"what": {"reference": ref}, "type": _SYSTEM_OBJECT, "role": _DOMAIN_RESOURCE}
        for ref in output_refs
    ]
    body = {
        "resourceType": "AuditEvent",
        "id": audit_id(request_id, hook_instance or "", "AuditEvent"),
        "type": _REST,
        "subtype": [_OPERATION],
        "action": "E",
        "recorded": recorded,
        "outcome": outcome,
        "agent": agents,
        "source": _SOURCE,
        "entity": entities,
    }
    return json_ready(body)


def guidance_response(
    *,
    recorded: datetime,
    hook_instance: str,
    service_id: str,
    service_url: str,
    patient_ref: str,
    result_ref: str | None,
    rule_set: str,
) -> dict[str, Any]:
    """The cdshooksguidanceresponse of one CDS Hooks call: ``requestIdentifier`` = hookInstance,
    ``moduleUri`` = the rule set's canonical, ``result`` → the CarePlan when there is one."""
    gr_id = audit_id(hook_instance, service_id, "GuidanceResponse")
    body: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": gr_id,
        "extension": [{"url": CDS_HOOKS_ENDPOINT_EXT, "valueUri": service_url}],
        "requestIdentifier": {"value": hook_instance},
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{gr_id}"}],
        "moduleUri": rule_set,
        "status": "success",
        "subject": {"reference": patient_ref},
        "occurrenceDateTime": recorded,
        "performer": {"reference": DEVICE_REF},
    }
    if result_ref is not None:
        body["result"] = {"reference": result_ref}
    return json_ready(body)


def feedback_audit_event(
    *,
    recorded: datetime,
    client: str,
    service_id: str,
    card_uuid: str,
    outcome: str,
    outcome_timestamp: str,
    override_reason: Mapping[str, Any] | None,
    service_base_url: str,
) -> dict[str, Any]:
    """An AuditEvent for one CDS Hooks feedback item (standards.md §4.5 "Feedback")."""
    details = [{"type": "outcome", "valueString": outcome}]
    details.append({"type": "outcomeTimestamp", "valueString": outcome_timestamp})
    if override_reason is not None and override_reason.get("reason", {}).get("code"):
        details.append({"type": "overrideReason", "valueString": override_reason["reason"]["code"]})
    body = {
        "resourceType": "AuditEvent",
        "id": audit_id(service_id, card_uuid, outcome, outcome_timestamp, "feedback"),
        "type": _REST,
        "subtype": [_OPERATION],
        "action": "C",
        "recorded": recorded,
        "outcome": "0",
        "agent": [
            {
                "type": {"coding": [_SOURCE_ROLE]},
                "who": {"identifier": {"value": client}},
                "requestor": True,
            },
            _service_agent(service_base_url),
        ],
        "source": _SOURCE,
        "entity": [
            {
                "what": {"identifier": {"value": card_uuid}},
                "type": _SYSTEM_OBJECT,
                "name": f"card of {service_id}",
                "detail": details,
            }
        ],
    }
    return json_ready(body)
