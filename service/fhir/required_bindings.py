"""Required bindings of the coded elements the service emits (R4B does not enforce them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.fhir.outcome import ISSUE_SEVERITIES, ISSUE_TYPES
from service.fhir.parse import BUNDLE_TYPES

_NARRATIVE_STATUS = frozenset({"generated", "extensions", "additional", "empty"})

#: Required bindings of the elements we fill (R4 value sets; R4B does not enforce them).
REQUIRED_BINDINGS: Mapping[str, frozenset[str]] = {
    "ClinicalImpression.text.status": _NARRATIVE_STATUS,
    "CarePlan.text.status": _NARRATIVE_STATUS,
    "ClinicalImpression.status": frozenset({"in-progress", "completed", "entered-in-error"}),
    "CarePlan.status": frozenset(
        {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
    ),
    "CarePlan.intent": frozenset({"proposal", "plan", "order", "option"}),
    "CarePlan.activity.detail.kind": frozenset(
        {
            "Appointment",
            "CommunicationRequest",
            "DeviceRequest",
            "MedicationRequest",
            "NutritionOrder",
            "Task",
            "ServiceRequest",
            "VisionPrescription",
        }
    ),  # fmt: skip
    "CarePlan.activity.detail.status": frozenset(
        {
            "not-started",
            "scheduled",
            "in-progress",
            "on-hold",
            "completed",
            "cancelled",
            "stopped",
            "unknown",
            "entered-in-error",
        }
    ),  # fmt: skip
    "Provenance.entity.role": frozenset(
        {"derivation", "revision", "quotation", "source", "removal"}
    ),
    "Bundle.type": BUNDLE_TYPES,
    "OperationOutcome.issue.severity": ISSUE_SEVERITIES,
    "OperationOutcome.issue.code": ISSUE_TYPES,
}


def binding_violations(resource: Mapping[str, Any]) -> list[str]:
    """``path=value`` for each coded value of ``resource`` outside :data:`REQUIRED_BINDINGS`.

    Walks Bundle entries too. Used by the tests; cheap enough to call anywhere.
    """
    found: list[str] = []
    rtype = resource.get("resourceType", "")
    for path, allowed in REQUIRED_BINDINGS.items():
        head, *parts = path.split(".")
        if head == rtype:
            found += [f"{path}={v}" for v in _values(resource, parts) if v not in allowed]
    if rtype == "Bundle":
        for entry in resource.get("entry", []):
            found += binding_violations(entry.get("resource", {}))
    return found


def _values(node: Any, parts: list[str]) -> list[Any]:
    if isinstance(node, list):
        return [v for item in node for v in _values(item, parts)]
    if not parts:
        return [node]
    if isinstance(node, Mapping) and parts[0] in node:
        return _values(node[parts[0]], parts[1:])
    return []
