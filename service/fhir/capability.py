"""The R4 CapabilityStatement for ``GET /fhir/metadata`` (standards.md §4.1, §7 item 40)."""

from __future__ import annotations

from typing import Any

from service.fhir.profiles import Profiles
from service.fhir.validated import json_ready

BULK_EXPORT_DEFINITION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
BULK_DATA_CAPABILITY = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"


def capability_statement(
    profiles: Profiles, *, base_url: str, software_version: str
) -> dict[str, Any]:
    """What this server offers: ``$hip-spine-evaluate`` (system and Patient) and ``$export``.

    ``base_url`` is the service's public base (without ``/fhir``); ``date`` is the rule set's
    publication date, so the statement is the same for every request of one deployment.
    """
    operation = profiles.operation_definition
    evaluate = {"name": operation["code"], "definition": operation["url"]}
    body = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": profiles.published,
        "publisher": "hipspine-cds",
        "kind": "instance",
        "instantiates": [BULK_DATA_CAPABILITY],
        "software": {"name": "hipspine-cds", "version": software_version},
        "implementation": {
            "description": "hipspine-cds: hip–spine syndrome decision support "
            f"(rule set {profiles.rule_set.canonical})",
            "url": f"{base_url.rstrip('/')}/fhir",
        },
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "POST a Bundle of one patient's inputs to $hip-spine-evaluate; "
                "the answer is a collection Bundle (ClinicalImpression, CarePlan, Provenance).",
                "resource": [
                    {"type": "Patient", "operation": [evaluate]},
                    {
                        "type": "OperationDefinition",
                        "interaction": [{"code": "read"}],
                    },
                ],
                "operation": [
                    evaluate,
                    {"name": "export", "definition": BULK_EXPORT_DEFINITION},
                ],
            }
        ],
    }
    return json_ready(body)
