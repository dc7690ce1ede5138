"""Small hand-written FHIR Bundles for the HTTP contract tests."""

from __future__ import annotations

import copy
from typing import Any

from service.fhir.profiles import HSC_SYSTEM as HSC
from service.fhir.profiles import LATERALITY_URL as LATERALITY
from service.samples.codes import LOINC, SIDES, SNOMED, UCUM

__all__ = ["HSC", "LOINC", "SNOMED", "UCUM", "bundle", "deg", "nrs", "obs", "with_entry"]
POS = {"coding": [{"system": SNOMED, "code": "10828004", "display": "Positive"}]}
NEG = {"coding": [{"system": SNOMED, "code": "260385009", "display": "Negative"}]}


def _hip(side: str) -> dict[str, Any]:
    code, display = SIDES[side]
    return {
        "extension": [
            {
                "url": LATERALITY,
                "valueCodeableConcept": {
                    "coding": [{"system": SNOMED, "code": code, "display": display}]
                },
            }
        ],
        "coding": [{"system": SNOMED, "code": "24136001", "display": "Hip joint structure"}],
    }


def obs(
    oid: str,
    code: str,
    *,
    system: str = HSC,
    side: str | None = None,
    when: str = "2026-10-01T10:00:00Z",
    patient: str = "p1",
    **value: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
        **value,
    }
    if side:
        resource["bodySite"] = _hip(side)
    return resource


def deg(v: float) -> dict[str, Any]:
    return {"valueQuantity": {"value": v, "unit": "deg", "system": UCUM, "code": "deg"}}


def nrs(oid: str, site: str, value: int, **kw: Any) -> dict[str, Any]:
    return obs(
        oid,
        "72514-3",
        system=LOINC,
        bodySite={"coding": [{"system": HSC, "code": site}]},
        valueInteger=value,
        **kw,
    )


def bundle(*resources: dict[str, Any], patient: str = "p1") -> dict[str, Any]:
    entries = [
        {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            "resource": r,
        }
        for i, r in enumerate(
            ({"resourceType": "Patient", "id": patient, "gender": "female"}, *resources)
        )
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def worked_example() -> dict[str, Any]:
    """clinical-spec.md §8: → SECONDARY (FUNCTIONAL), rec-combined-hip-lumbar-management."""
    return bundle(
        nrs("nrs-lb", "site-low-back", 6),
        nrs("nrs-groin", "site-groin", 0),
        obs("ir-l", "hip-rom-internal-rotation", side="left", **deg(10)),
        obs("ir-r", "hip-rom-internal-rotation", side="right", **deg(32)),
        obs("fadir-l", "test-fadir", side="left", valueCodeableConcept=POS),
        obs("faber-l", "test-faber", side="left", valueCodeableConcept=NEG),
        obs("faber-r", "test-faber", side="right", valueCodeableConcept=NEG),
        obs("slr-l", "test-slr", side="left", valueCodeableConcept=NEG),
        obs("slr-r", "test-slr", side="right", valueCodeableConcept=NEG),
        obs("kl-l", "kl-grade-hip", side="left", valueInteger=1),
        obs("kl-r", "kl-grade-hip", side="right", valueInteger=1),
        obs(
            "img",
            "lumbar-imaging-finding",
            valueCodeableConcept={"coding": [{"system": HSC, "code": "finding-normal"}]},
        ),
    )


def with_entry(b: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(b)
    n = len(out["entry"])
    out["entry"].append(
        {"fullUrl": f"urn:uuid:00000000-0000-4000-9000-{n:012d}", "resource": resource}
    )
    return out
