"""Codes and small FHIR values the synthetic charts are written in (clinical-spec.md §1.2–§1.3).

``HSC#`` codes carry the displays of profiles/CodeSystem-hsc.json; laterality is the §1.2
extension on ``bodySite``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from service.fhir.profiles import HSC_SYSTEM as HSC
from service.fhir.profiles import LATERALITY_URL, default_profiles_dir

Json = dict[str, Any]

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

SIDES = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}
HIP_JOINT = (SNOMED, "24136001", "Hip joint structure")
HIP_ROM = (SNOMED, "299238003", "Hip joint range of movement")
LOWER_LIMB = (SNOMED, "61685007", "Lower limb structure")
POSITIVE = (SNOMED, "10828004", "Positive")
NEGATIVE = (SNOMED, "260385009", "Negative")
PAIN_NRS = (LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
UNITS = {
    "deg": "°",
    "mm": "mm",
    "%": "%",
    "/min": "beats/minute",
    "kg": "kg",
    "mg/L": "mg/L",
    "Cel": "°C",
    "g/dL": "g/dL",
}


def concept(*codings: tuple[str, str, str]) -> Json:
    return {"coding": [{"system": s, "code": c, "display": d} for s, c, d in codings]}


@functools.cache
def _hsc_displays() -> Mapping[str, str]:
    path = default_profiles_dir() / "CodeSystem-hsc.json"
    concepts = json.loads(path.read_text(encoding="utf-8"))["concept"]
    return {c["code"]: c["display"] for c in concepts}


def hsc(code: str) -> tuple[str, str, str]:
    """``HSC#code`` with its CodeSystem display (derived from the code if it has none)."""
    return (HSC, code, _hsc_displays().get(code) or code.replace("-", " ").capitalize())


def quantity(value: float, unit: str) -> Json:
    return {"value": value, "unit": UNITS[unit], "system": UCUM, "code": unit}


def angle(degrees: float) -> Json:
    return {"valueQuantity": quantity(degrees, "deg")}


def component(code: str, value: Json) -> Json:
    """An Observation component coded ``HSC#code``."""
    return {"code": concept(hsc(code)), **value}


def body_site(site: tuple[str, str, str], side: str | None) -> Json:
    out = concept(site)
    if side is not None:
        out["extension"] = [
            {"url": LATERALITY_URL, "valueCodeableConcept": concept((SNOMED, *SIDES[side]))}
        ]
    return out
