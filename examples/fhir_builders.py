"""Small deterministic builders for the example FHIR R4 (4.0.1) input Bundles."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
LATERALITY_URL = "http://hipspine-cds.org/fhir/StructureDefinition/laterality"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

#: Fixed namespace so that every regeneration gives the same uuids.
_NAMESPACE = uuid.UUID("6f1d3c2a-8b7e-4f5a-9c0d-1e2f3a4b5c6d")

#: Default time of the visit the examples describe.
VISIT = "2025-03-14T09:30:00Z"

SIDES = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}
HIP_JOINT = (SNOMED, "24136001", "Hip joint structure")
LOWER_LIMB = (SNOMED, "61685007", "Lower limb structure")
POSITIVE = (SNOMED, "10828004", "Positive")
NEGATIVE = (SNOMED, "260385009", "Negative")
PAIN_NRS = (LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
UNITS = {"deg": "°", "mm": "mm", "%": "%", "/min": "beats/minute"}


def coding(system: str, code: str, display: str) -> Json:
    return {"system": system, "code": code, "display": display}


def concept(*codings: tuple[str, str, str], text: str | None = None) -> Json:
    out: Json = {"coding": [coding(*c) for c in codings]}
    if text is not None:
        out["text"] = text
    return out


def hsc(code: str, display: str) -> tuple[str, str, str]:
    return (HSC, code, display)


def quantity(value: float, unit: str) -> Json:
    return {"value": value, "unit": UNITS[unit], "system": UCUM, "code": unit}


def body_site(site: tuple[str, str, str], side: str | None) -> Json:
    """A bodySite CodeableConcept, with the laterality extension (§1.2) when ``side`` is given."""
    out = concept(site)
    if side is not None:
        out["extension"] = [
            {
                "url": LATERALITY_URL,
                "valueCodeableConcept": concept((SNOMED, *SIDES[side])),
            }
        ]
    return out


@dataclass
class Chart:
    """One patient's chart, appended to in clinical order; ``bundle()`` renders it."""

    slug: str
    patient_id: str
    given: str
    family: str
    gender: str
    birth_date: str
    entries: list[Json] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.add(
            {
                "resourceType": "Patient",
                "id": self.patient_id,
                "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": self.slug}],
                "name": [{"use": "official", "family": self.family, "given": [self.given]}],
                "gender": self.gender,
                "birthDate": self.birth_date,
            },
            keep_id=True,
        )

    @property
    def subject(self) -> Json:
        return {"reference": f"Patient/{self.patient_id}"}

    def add(self, resource: Json, *, keep_id: bool = False) -> Json:
        """Append ``resource`` under a deterministic ``urn:uuid`` fullUrl; return it."""
        uid = str(uuid.uuid5(_NAMESPACE, f"{self.slug}/{len(self.entries)}"))
        if not keep_id:
            resource = {"resourceType": resource.pop("resourceType"), "id": uid, **resource}
        self.entries.append({"fullUrl": f"urn:uuid:{uid}", "resource": resource})
        return resource

    def bundle(self) -> Json:
        return {
            "resourceType": "Bundle",
            "id": f"example-{self.slug}",
            "meta": {"lastUpdated": "2025-03-14T12:00:00Z"},
            "type": "collection",
            "timestamp": "2025-03-14T12:00:00Z",
            "entry": self.entries,
        }

    # Observations -------------------------------------------------------------------------

    def observation(
        self,
        category: str,
        code: Json,
        value: Json,
        *,
        when: str = VISIT,
        status: str = "final",
        site: Json | None = None,
        components: list[Json] | None = None,
        note: str | None = None,
    ) -> Json:
        resource: Json = {
            "resourceType": "Observation",
            "status": status,
            "category": [concept((OBS_CATEGORY, category, category.replace("-", " ").title()))],
            "code": code,
            "subject": self.subject,
            "effectiveDateTime": when,
            "issued": when if "T" in when else f"{when}T12:00:00Z",
            **value,
        }
        if site is not None:
            resource["bodySite"] = site
        if components:
            resource["component"] = components
        if note is not None:
            resource["note"] = [{"text": note}]
        return self.add(resource)

    def pain(self, site: str | None, nrs: int, *, when: str = VISIT, **kw: Any) -> Json:
        """Pain NRS (LOINC 72514-3); ``site`` is an HSC ``site-…`` code or ``"hip"`` (SNOMED)."""
        where = None
        if site == "hip":
            where = body_site(HIP_JOINT, None)
        elif site is not None:
            where = body_site(hsc(site, site.removeprefix("site-").replace("-", " ")), None)
        return self.observation(
            "survey", concept(PAIN_NRS), {"valueInteger": nrs}, when=when, site=where, **kw
        )

    def odi(self, percent: float, *, when: str = VISIT) -> Json:
        code = concept((LOINC, "97909-6", "Oswestry Disability Index [ODI]"))
        return self.observation(
            "survey", code, {"valueQuantity": quantity(percent, "%")}, when=when
        )

    def rom(
        self, motion: str, side: str, degrees: float, *, snomed: bool = False, **kw: Any
    ) -> Json:
        """Hip ROM ``hip-rom-<motion>`` in degrees, per side."""
        codings = [hsc(f"hip-rom-{motion}", f"Hip {motion.replace('-', ' ')} range of motion")]
        if snomed:
            codings.append((SNOMED, "299238003", "Hip joint range of movement"))
        value = {"valueQuantity": quantity(degrees, "deg")}
        return self.observation(
            "exam", concept(*codings), value, site=body_site(HIP_JOINT, side), **kw
        )

    def rom_panel(self, side: str, motions: Mapping[str, float]) -> Json:
        """``hip-rom-panel`` with one component per motion (§1.3)."""
        components = [
            {
                "code": concept(hsc(f"hip-rom-{m}", f"Hip {m.replace('-', ' ')} range of motion")),
                "valueQuantity": quantity(deg, "deg"),
            }
            for m, deg in motions.items()
        ]
        code = concept(hsc("hip-rom-panel", "Hip range of motion panel"))
        return self.observation(
            "exam", code, {}, site=body_site(HIP_JOINT, side), components=components
        )

    def contracture(self, side: str, degrees: float) -> Json:
        code = concept(hsc("hip-flexion-contracture-angle", "Thomas test flexion contracture"))
        value = {"valueQuantity": quantity(degrees, "deg")}
        return self.observation("exam", code, value, site=body_site(HIP_JOINT, side))

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
        """Special test ``test-<name>``; result SNOMED Positive/Negative (§1.3)."""
        components: list[Json] = []
        if location is not None:
            components.append(
                {
                    "code": concept(hsc("pain-location", "Pain location during test")),
                    "valueCodeableConcept": concept(hsc(f"location-{location}", location)),
                }
            )
        if slr_angle is not None:
            components.append(
                {
                    "code": concept(hsc("slr-angle", "Straight leg raise angle")),
                    "valueQuantity": quantity(slr_angle, "deg"),
                }
            )
        limb = LOWER_LIMB if name.startswith("slr") else HIP_JOINT
        site = body_site(limb, side) if side is not None else None
        value = {"valueCodeableConcept": concept(POSITIVE if positive else NEGATIVE)}
        code = concept(hsc(f"test-{name}", f"{name.upper()} test"))
        return self.observation("exam", code, value, site=site, components=components or None, **kw)

    def kl(self, side: str, grade: int, **kw: Any) -> Json:
        code = concept(hsc("kl-grade-hip", "Kellgren-Lawrence grade, hip"))
        return self.observation(
            "imaging", code, {"valueInteger": grade}, site=body_site(HIP_JOINT, side), **kw
        )

    def lumbar_imaging(self, finding: str, *, when: str = VISIT) -> Json:
        code = concept(hsc("lumbar-imaging-finding", "Lumbar spine imaging finding"))
        value = {"valueCodeableConcept": concept(hsc(f"finding-{finding}", finding))}
        return self.observation("imaging", code, value, when=when)

    def spinopelvic(self, name: str, value: float, unit: str = "deg") -> Json:
        code = concept(hsc(name, name.replace("-", " ")))
        return self.observation("imaging", code, {"valueQuantity": quantity(value, unit)})

    def sign(self, name: str, present: bool, *, when: str = VISIT) -> Json:
        """Neurological sign or red flag (``valueBoolean``)."""
        code = concept(hsc(name, name.replace("-", " ")))
        return self.observation("exam", code, {"valueBoolean": present}, when=when)

    def prior(self, name: str, done: bool, when: str) -> Json:
        """Prior treatment ``prior-…``; the effective time is when it was done (§1.3)."""
        code = concept(hsc(f"prior-{name}", f"Prior {name.replace('-', ' ')}"))
        return self.observation("procedure", code, {"valueBoolean": done}, when=when)

    def ia_injection(self, pre: int, post: int, *, day: str = "2025-03-20") -> None:
        """Diagnostic IA hip injection: NRS before and 20 minutes after (§1.3)."""
        for code, value, time in (("pre", pre, "10:00"), ("post", post, "10:20")):
            name = concept(hsc(f"ia-hip-injection-nrs-{code}", f"IA hip injection NRS {code}"))
            self.observation("procedure", name, {"valueInteger": value}, when=f"{day}T{time}:00Z")

    def ia_relief(self, percent: float, *, day: str = "2025-03-20") -> Json:
        code = concept(hsc("ia-hip-injection-relief-pct", "IA hip injection pain relief"))
        value = {"valueQuantity": quantity(percent, "%")}
        return self.observation("procedure", code, value, when=f"{day}T10:20:00Z")

    def heart_rate(self, bpm: int) -> Json:
        """An irrelevant vital sign: the service must ignore it."""
        code = concept((LOINC, "8867-4", "Heart rate"))
        return self.observation("vital-signs", code, {"valueQuantity": quantity(bpm, "/min")})

    # History ------------------------------------------------------------------------------

    def condition(
        self,
        code: tuple[str, str, str],
        onset: str,
        *,
        verification: str = "confirmed",
        side: str | None = None,
    ) -> Json:
        resource: Json = {
            "resourceType": "Condition",
            "clinicalStatus": concept((CONDITION_CLINICAL, "active", "Active")),
            "verificationStatus": concept(
                (CONDITION_VERIFICATION, verification, verification.title())
            ),
            "category": [concept((CONDITION_CATEGORY, "problem-list-item", "Problem List Item"))],
            "code": concept(code),
            "subject": self.subject,
            "onsetDateTime": onset,
            "recordedDate": onset,
        }
        if side is not None:
            resource["bodySite"] = [body_site(HIP_JOINT, side)]
        return self.add(resource)

    def hip_replacement(self, side: str, when: str) -> Json:
        return self.add(
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": concept((SNOMED, "52734007", "Total hip replacement")),
                "subject": self.subject,
                "performedDateTime": when,
                "bodySite": [body_site(HIP_JOINT, side)],
            }
        )
