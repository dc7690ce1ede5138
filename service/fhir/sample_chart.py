"""A synthetic patient's chart, rendered as a FHIR R4 ``transaction`` Bundle (sample data).

Codes follow clinical-spec.md §1.3 (LOINC pain NRS and ODI, ``HSC#`` inputs, SNOMED sides and
hip joint, SNOMED test results); laterality is the §1.2 extension on ``bodySite``. Every
resource gets a deterministic id (uuid5 of the patient id and its position) and is written with
``PUT``, so loading the same sample twice creates nothing new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
LATERALITY_URL = "http://hipspine-cds.org/fhir/StructureDefinition/laterality"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
MRN_SYSTEM = "http://hipspine-cds.org/fhir/sid/sample-mrn"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_NAMESPACE = uuid.UUID("3b7f0c52-6a1e-4d0b-9f2e-5c8d7a6b4e31")

SIDES = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}
HIP_JOINT = (SNOMED, "24136001", "Hip joint structure")
LOWER_LIMB = (SNOMED, "61685007", "Lower limb structure")
POSITIVE = (SNOMED, "10828004", "Positive")
NEGATIVE = (SNOMED, "260385009", "Negative")
PAIN_NRS = (LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
UNITS = {"deg": "°", "mm": "mm", "%": "%", "/min": "beats/minute", "kg": "kg", "mg/L": "mg/L",
         "Cel": "°C", "g/dL": "g/dL"}


def concept(*codings: tuple[str, str, str]) -> Json:
    return {"coding": [{"system": s, "code": c, "display": d} for s, c, d in codings]}


def hsc(code: str) -> tuple[str, str, str]:
    return (HSC, code, code.replace("-", " ").capitalize())


def quantity(value: float, unit: str) -> Json:
    return {"value": value, "unit": UNITS[unit], "system": UCUM, "code": unit}


def body_site(site: tuple[str, str, str], side: str | None) -> Json:
    out = concept(site)
    if side is not None:
        out["extension"] = [
            {"url": LATERALITY_URL, "valueCodeableConcept": concept((SNOMED, *SIDES[side]))}
        ]
    return out


@dataclass
class Chart:
    """One patient's chart; ``visit`` is the default time of each observation."""

    patient_id: str
    given: str
    family: str
    gender: str
    birth_date: str
    visit: str
    resources: list[Json] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.resources.append(
            {
                "resourceType": "Patient",
                "id": self.patient_id,
                "identifier": [{"system": MRN_SYSTEM, "value": self.patient_id.upper()}],
                "name": [{"use": "official", "family": self.family, "given": [self.given]}],
                "gender": self.gender,
                "birthDate": self.birth_date,
            }
        )

    def _add(self, resource: Json) -> Json:
        rid = str(uuid.uuid5(_NAMESPACE, f"{self.patient_id}/{len(self.resources)}"))
        resource = {"resourceType": resource.pop("resourceType"), "id": rid, **resource}
        self.resources.append(resource)
        return resource

    def transaction(self) -> Json:
        """The chart as a ``transaction`` Bundle of ``PUT [type]/[id]`` entries."""
        entries = [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, r['resourceType'] + '/' + r['id'])}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in self.resources
        ]
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    def observation(
        self,
        category: str,
        code: Json,
        value: Json,
        *,
        when: str | None = None,
        status: str = "final",
        site: Json | None = None,
        components: list[Json] | None = None,
        note: str | None = None,
    ) -> Json:
        time = when or self.visit
        resource: Json = {
            "resourceType": "Observation",
            "status": status,
            "category": [concept((OBS_CATEGORY, category, category.replace("-", " ").title()))],
            "code": code,
            "subject": {"reference": f"Patient/{self.patient_id}"},
            "effectiveDateTime": time,
            "issued": time if "T" in time else f"{time}T12:00:00Z",
            **value,
        }
        if site is not None:
            resource["bodySite"] = site
        if components:
            resource["component"] = components
        if note is not None:
            resource["note"] = [{"text": note}]
        return self._add(resource)

    # Inputs of clinical-spec.md §1.3 ----------------------------------------------------------

    def pain(self, site: str | None, nrs: int, **kw: Any) -> Json:
        where = body_site(hsc(site), None) if site is not None else None
        value = {"valueInteger": nrs}
        return self.observation("survey", concept(PAIN_NRS), value, site=where, **kw)

    def odi(self, percent: float, **kw: Any) -> Json:
        code = concept((LOINC, "97909-6", "Oswestry Disability Index [ODI]"))
        return self.observation("survey", code, {"valueQuantity": quantity(percent, "%")}, **kw)

    def rom(self, motion: str, side: str, degrees: float, **kw: Any) -> Json:
        value = {"valueQuantity": quantity(degrees, "deg")}
        site = body_site(HIP_JOINT, side)
        return self.observation("exam", concept(hsc(f"hip-rom-{motion}")), value, site=site, **kw)

    def test(
        self,
        name: str,
        side: str | None,
        positive: bool,
        *,
        location: str | None = None,
        slr_angle: float | None = None,
        **kw: Any,
    ) -> Json:
        components: list[Json] = []
        if location is not None:
            components.append(
                {
                    "code": concept(hsc("pain-location")),
                    "valueCodeableConcept": concept(hsc(f"location-{location}")),
                }
            )
        if slr_angle is not None:
            components.append(
                {"code": concept(hsc("slr-angle")), "valueQuantity": quantity(slr_angle, "deg")}
            )
        limb = LOWER_LIMB if name.startswith("slr") else HIP_JOINT
        site = body_site(limb, side) if side is not None else None
        value = {"valueCodeableConcept": concept(POSITIVE if positive else NEGATIVE)}
        return self.observation(
            "exam", concept(hsc(f"test-{name}")), value, site=site, components=components, **kw
        )

    def kl(self, side: str, grade: int) -> Json:
        site = body_site(HIP_JOINT, side)
        value = {"valueInteger": grade}
        return self.observation("imaging", concept(hsc("kl-grade-hip")), value, site=site)

    def lumbar_imaging(self, finding: str) -> Json:
        value = {"valueCodeableConcept": concept(hsc(f"finding-{finding}"))}
        return self.observation("imaging", concept(hsc("lumbar-imaging-finding")), value)

    def spinopelvic(self, name: str, value: float, unit: str = "deg") -> Json:
        return self.observation(
            "imaging", concept(hsc(name)), {"valueQuantity": quantity(value, unit)}
        )

    def sign(self, name: str, present: bool, **kw: Any) -> Json:
        return self.observation("exam", concept(hsc(name)), {"valueBoolean": present}, **kw)

    def prior(self, name: str, done: bool, when: str) -> Json:
        code = concept(hsc(f"prior-{name}"))
        return self.observation("procedure", code, {"valueBoolean": done}, when=when)

    def ia_injection(self, pre: int, post: int, day: str) -> None:
        for which, value, clock in (("pre", pre, "10:00"), ("post", post, "10:20")):
            code = concept(hsc(f"ia-hip-injection-nrs-{which}"))
            self.observation("procedure", code, {"valueInteger": value}, when=f"{day}T{clock}:00Z")

    def ia_relief(self, percent: float, day: str) -> Json:
        code = concept(hsc("ia-hip-injection-relief-pct"))
        value = {"valueQuantity": quantity(percent, "%")}
        return self.observation("procedure", code, value, when=f"{day}T10:20:00Z")

    def condition(self, code: tuple[str, str, str], onset: str) -> Json:
        return self._add(
            {
                "resourceType": "Condition",
                "clinicalStatus": concept((CONDITION_CLINICAL, "active", "Active")),
                "verificationStatus": concept((CONDITION_VERIFICATION, "confirmed", "Confirmed")),
                "code": concept(code),
                "subject": {"reference": f"Patient/{self.patient_id}"},
                "onsetDateTime": onset,
                "recordedDate": onset,
            }
        )

    def hip_replacement(self, side: str, when: str) -> Json:
        return self._add(
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": concept((SNOMED, "52734007", "Total hip replacement")),
                "subject": {"reference": f"Patient/{self.patient_id}"},
                "performedDateTime": when,
                "bodySite": [body_site(HIP_JOINT, side)],
            }
        )

    # Unrelated data the service must ignore --------------------------------------------------

    def vital(self, loinc: str, display: str, value: float, unit: str) -> Json:
        value_q = {"valueQuantity": quantity(value, unit)}
        return self.observation("vital-signs", concept((LOINC, loinc, display)), value_q)

    def lab(self, loinc: str, display: str, value: float, unit: str) -> Json:
        value_q = {"valueQuantity": quantity(value, unit)}
        return self.observation("laboratory", concept((LOINC, loinc, display)), value_q)
