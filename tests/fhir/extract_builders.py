"""Small builders of FHIR R4 input JSON for the extraction tests (plain dicts, as on the wire)."""

from __future__ import annotations

import itertools
from typing import Any

from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir
from service.fhir.extract import read_input
from service.fhir.extraction import Extraction

HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
LATERALITY = "http://hipspine-cds.org/fhir/StructureDefinition/laterality"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
PATIENT = "p1"
SIDES = {"left": "7771000", "right": "24028007", "both": "51440002"}
POSITIVE = {"coding": [{"system": SCT, "code": "10828004"}]}
NEGATIVE = {"coding": [{"system": SCT, "code": "260385009"}]}

INDEX = ConceptMapIndex.load(default_mappings_dir())
_ids = itertools.count(1)


def concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def hsc(code: str) -> dict[str, Any]:
    return concept(HSC, code)


def lateral(side: str, site: dict[str, Any] | None = None) -> dict[str, Any]:
    """A bodySite carrying the laterality extension."""
    body = dict(site or concept(SCT, "24136001"))
    body["extension"] = [{"url": LATERALITY, "valueCodeableConcept": concept(SCT, SIDES[side])}]
    return body


def qty(value: Any, code: str | None = "deg", **extra: Any) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, **extra}
    if code is not None:
        quantity.update(system=UCUM, code=code)
    return quantity


def obs(code: dict[str, Any] | str, **fields: Any) -> dict[str, Any]:
    """An Observation (status final, subject Patient/p1); a str code is an HSC code."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"o{next(_ids)}",
        "status": "final",
        "code": hsc(code) if isinstance(code, str) else code,
        "subject": {"reference": f"Patient/{PATIENT}"},
    }
    resource.update(fields)
    return {k: v for k, v in resource.items() if v is not None}


def nrs(value: Any, site: str | None = None, **fields: Any) -> dict[str, Any]:
    if site is not None:
        fields.setdefault("bodySite", hsc(site))
    fields.setdefault("valueInteger", value)
    return obs(concept(LOINC, "72514-3"), **fields)


def rom(motion: str, value: Any, side: str | None = "left", **fields: Any) -> dict[str, Any]:
    if side is not None:
        fields.setdefault("bodySite", lateral(side))
    fields.setdefault("valueQuantity", qty(value))
    return obs(f"hip-rom-{motion}", **fields)


def bundle(*resources: dict[str, Any], patient: bool = True) -> dict[str, Any]:
    entries = []
    if patient:
        entries.append(
            {
                "fullUrl": f"http://ehr.example.org/fhir/Patient/{PATIENT}",
                "resource": {"resourceType": "Patient", "id": PATIENT},
            }
        )
    for resource in resources:
        rid = resource.get("id")
        url = f"urn:uuid:{rid}" if rid else f"urn:uuid:anon-{next(_ids)}"
        entries.append({"fullUrl": url, "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def extract(*resources: dict[str, Any], **kwargs: Any) -> Extraction:
    return read_input(bundle(*resources), INDEX, **kwargs)


def diagnostics(extraction: Extraction) -> str:
    return " | ".join(issue.diagnostics for issue in extraction.warnings)
