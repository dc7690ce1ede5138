"""A patient's record read from a FHIR server, and evaluation outputs written back to it.

Write-back is idempotent without any search parameter: the outputs' ids are deterministic
(uuid5 of the used inputs and the rule-set version, :func:`service.fhir.outputs.output_id`),
so they are written with ``PUT [type]/[id]`` (update-as-create) in one transaction, after a
read by id shows the ClinicalImpression is not there yet. A re-run for the same inputs and
rule-set version finds it and sends nothing. (sekmet-fhir 0.1.1 has no search parameters for
ClinicalImpression, so conditional create on an identifier cannot be relied on.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.errors import FhirServerRejected
from service.fhir.outputs import DEVICE_REF, OutputSet
from service.fhir_server.client import FhirServerClient, ResourceNotFound

#: The resource types the rules read, searched by patient (clinical-spec.md §1).
SEARCHED_TYPES = ("Observation", "Condition", "Procedure")
#: Page size asked for; servers may give fewer (``next`` links are followed).
PAGE_SIZE = "100"


def fetch_patient_bundle(client: FhirServerClient, patient_id: str) -> dict[str, Any]:
    """The Patient and their Observations, Conditions and Procedures as a ``collection``.

    Each entry's ``fullUrl`` is ``[base]/[type]/[id]``, so the outputs reference the server's
    own resources.

    :raise service.errors.FhirServerError: the server failed or refused (404: no such patient).
    """
    resources = [client.read("Patient", patient_id)]
    for resource_type in SEARCHED_TYPES:
        resources += client.search(resource_type, {"patient": patient_id, "_count": PAGE_SIZE})
    return collection(resources, client.base_url)


def collection(resources: Iterable[dict[str, Any]], base_url: str) -> dict[str, Any]:
    """A ``collection`` Bundle of server resources, each with its absolute ``fullUrl``."""
    entries = [
        {"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
    ]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if entries:
        bundle["entry"] = entries
    return bundle


def service_device(version: str) -> dict[str, Any]:
    """The Device the Provenance names as author (``Device/hipspine-cds``)."""
    return {
        "resourceType": "Device",
        "id": DEVICE_REF.removeprefix("Device/"),
        "status": "active",
        "deviceName": [{"name": "hipspine-cds", "type": "user-friendly-name"}],
        "version": [{"value": version}],
    }


def write_back_bundle(outputs: OutputSet, *, rule_set_version: str) -> dict[str, Any]:
    """The ``transaction`` Bundle writing the outputs (and the author Device) by id.

    ``fullUrl`` stays ``urn:uuid:<id>`` so the references between outputs resolve in the
    transaction; ``request`` is ``PUT [type]/[id]``. The Device is written too, so the
    Provenance's author reference resolves on servers that enforce referential integrity.
    """
    entries = []
    for resource in [*_produced(outputs), service_device(rule_set_version)]:
        rid, rtype = resource["id"], resource["resourceType"]
        entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{rid}"} if rtype != "Device" else {}
        entry["resource"] = resource
        entry["request"] = {"method": "PUT", "url": f"{rtype}/{rid}"}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@dataclass(frozen=True)
class WriteBack:
    """What a write-back did: ``created`` False when the outputs were already there."""

    created: bool
    references: tuple[str, ...]  # "ClinicalImpression/<id>", ... as on the server


def write_back(client: FhirServerClient, outputs: OutputSet, *, rule_set_version: str) -> WriteBack:
    """Write the outputs as one transaction unless the ClinicalImpression already exists.

    :raise service.errors.FhirServerError: the server failed or refused the transaction
        (its OperationOutcome is quoted).
    """
    references = tuple(f"{r['resourceType']}/{r['id']}" for r in _produced(outputs))
    if _exists(client, "ClinicalImpression", outputs.clinical_impression["id"]):
        return WriteBack(created=False, references=references)
    answer = client.transaction(write_back_bundle(outputs, rule_set_version=rule_set_version))
    statuses = [str((e.get("response") or {}).get("status", "")) for e in answer.get("entry") or ()]
    if len(statuses) < len(references) or not all(s.startswith("2") for s in statuses):
        raise FhirServerRejected(f"the transaction answered statuses {statuses}")
    return WriteBack(created=True, references=references)


def _produced(outputs: OutputSet) -> list[dict[str, Any]]:
    """The outputs written back, in order (the CarePlan only when there is one)."""
    resources = (outputs.clinical_impression, outputs.care_plan, outputs.provenance)
    return [r for r in resources if r is not None]


def _exists(client: FhirServerClient, resource_type: str, resource_id: str) -> bool:
    try:
        client.read(resource_type, resource_id)
    except ResourceNotFound:
        return False
    return True
