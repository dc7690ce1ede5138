"""A synthetic patient's chart, rendered as a FHIR R4 Bundle (sample data and examples/).

One method per input of clinical-spec.md §1.3, in the codes of sample_codes.py. Every resource
but the Patient gets a deterministic id (uuid5 of the patient id and its position), so building
the same chart twice gives the same Bundle: ``transaction()`` (``PUT``: loading it twice
creates nothing new), ``collection()`` (an evaluation input) or ``searchset()`` (a FHIR
server's answer, as in CDS Hooks prefetch).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.samples.codes import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    HIP_JOINT,
    HIP_ROM,
    LOINC,
    LOWER_LIMB,
    NEGATIVE,
    OBS_CATEGORY,
    PAIN_NRS,
    POSITIVE,
    SNOMED,
    Json,
    angle,
    body_site,
    component,
    concept,
    hsc,
    quantity,
)

MRN_SYSTEM = "http://hipspine-cds.org/fhir/sid/sample-mrn"
_NAMESPACE = uuid.UUID("3b7f0c52-6a1e-4d0b-9f2e-5c8d7a6b4e31")


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

    @property
    def patient(self) -> Json:
        return self.resources[0]

    @property
    def subject(self) -> Json:
        return {"reference": f"Patient/{self.patient_id}"}

    def _add(self, resource: Json) -> Json:
        rid = str(uuid.uuid5(_NAMESPACE, f"{self.patient_id}/{len(self.resources)}"))
        resource = {"resourceType": resource.pop("resourceType"), "id": rid, **resource}
        self.resources.append(resource)
        return resource

    # Renderings ----------------------------------------------------------------------------

    @staticmethod
    def _entry(resource: Json, **more: Json) -> Json:
        """A Bundle entry; its ``urn:uuid`` is the resource id, or derived from it (Patient)."""
        try:
            uid = uuid.UUID(resource["id"])
        except ValueError:
            uid = uuid.uuid5(_NAMESPACE, f"{resource['resourceType']}/{resource['id']}")
        return {"fullUrl": f"urn:uuid:{uid}", "resource": resource, **more}

    def transaction(self) -> Json:
        """The chart as a ``transaction`` Bundle of ``PUT [type]/[id]`` entries."""
        entries = [
            self._entry(r, request={"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"})
            for r in self.resources
        ]
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    def collection(self, bundle_id: str, timestamp: str) -> Json:
        """The chart as a ``collection`` Bundle (the input of ``$hip-spine-evaluate``)."""
        return {
            "resourceType": "Bundle",
            "id": bundle_id,
            "meta": {"lastUpdated": timestamp},
            "type": "collection",
            "timestamp": timestamp,
            "entry": [self._entry(r) for r in self.resources],
        }

    def searchset(self, resource_type: str) -> Json:
        """The chart's resources of one type, as a server's ``searchset`` answer."""
        found = [r for r in self.resources if r["resourceType"] == resource_type]
        entries = [self._entry(r, search={"mode": "match"}) for r in found]
        total = len(found)
        return {"resourceType": "Bundle", "type": "searchset", "total": total, "entry": entries}

    # Observations --------------------------------------------------------------------------

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
            "subject": self.subject,
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
        """Pain NRS at ``site``: an HSC ``site-…`` code, ``"hip"`` (SNOMED hip joint) or none."""
        where = None if site is None else body_site(HIP_JOINT if site == "hip" else hsc(site), None)
        value = {"valueInteger": nrs}
        return self.observation("survey", concept(PAIN_NRS), value, site=where, **kw)

    def odi(self, percent: float, **kw: Any) -> Json:
        code = concept((LOINC, "97909-6", "Oswestry Disability Index [ODI]"))
        return self.observation("survey", code, {"valueQuantity": quantity(percent, "%")}, **kw)

    def _hip(self, category: str, code: Json, side: str, value: Json, **kw: Any) -> Json:
        """An observation of the hip joint of ``side``."""
        return self.observation(category, code, value, site=body_site(HIP_JOINT, side), **kw)

    def rom(
        self, motion: str, side: str, degrees: float, *, snomed: bool = False, **kw: Any
    ) -> Json:
        """Hip ROM ``hip-rom-<motion>``; ``snomed`` adds the SNOMED hip ROM coding."""
        code = concept(hsc(f"hip-rom-{motion}"), *([HIP_ROM] if snomed else []))
        return self._hip("exam", code, side, angle(degrees), **kw)

    def rom_panel(self, side: str, motions: Mapping[str, float]) -> Json:
        """``hip-rom-panel``: one component per motion, in degrees (§1.3)."""
        parts = [component(f"hip-rom-{m}", angle(deg)) for m, deg in motions.items()]
        return self._hip("exam", concept(hsc("hip-rom-panel")), side, {}, components=parts)

    def contracture(self, side: str, degrees: float) -> Json:
        """Hip flexion contracture angle (Thomas test)."""
        code = concept(hsc("hip-flexion-contracture-angle"))
        return self._hip("exam", code, side, angle(degrees))

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
        """Special test ``test-<name>``, SNOMED Positive/Negative (§1.3)."""
        components: list[Json] = []
        if location is not None:
            where = concept(hsc(f"location-{location}"))
            components.append(component("pain-location", {"valueCodeableConcept": where}))
        if slr_angle is not None:
            components.append(component("slr-angle", angle(slr_angle)))
        limb = LOWER_LIMB if name.startswith("slr") else HIP_JOINT
        site = body_site(limb, side) if side is not None else None
        value = {"valueCodeableConcept": concept(POSITIVE if positive else NEGATIVE)}
        return self.observation(
            "exam", concept(hsc(f"test-{name}")), value, site=site, components=components, **kw
        )

    def kl(self, side: str, grade: int, **kw: Any) -> Json:
        code = concept(hsc("kl-grade-hip"))
        return self._hip("imaging", code, side, {"valueInteger": grade}, **kw)

    def lumbar_imaging(self, finding: str, **kw: Any) -> Json:
        value = {"valueCodeableConcept": concept(hsc(f"finding-{finding}"))}
        return self.observation("imaging", concept(hsc("lumbar-imaging-finding")), value, **kw)

    def spinopelvic(self, name: str, value: float, unit: str = "deg") -> Json:
        return self.observation(
            "imaging", concept(hsc(name)), {"valueQuantity": quantity(value, unit)}
        )

    def sign(self, name: str, present: bool, **kw: Any) -> Json:
        """Neurological sign or red flag (``valueBoolean``)."""
        return self.observation("exam", concept(hsc(name)), {"valueBoolean": present}, **kw)

    def prior(self, name: str, done: bool, when: str) -> Json:
        """Prior treatment ``prior-…``; the effective time is when it was done (§1.3)."""
        code = concept(hsc(f"prior-{name}"))
        return self.observation("procedure", code, {"valueBoolean": done}, when=when)

    def ia_injection(self, pre: int, post: int, day: str) -> None:
        """Diagnostic IA hip injection on ``day``: NRS before and 20 minutes after (§1.3)."""
        for which, value, clock in (("pre", pre, "10:00"), ("post", post, "10:20")):
            code = concept(hsc(f"ia-hip-injection-nrs-{which}"))
            self.observation("procedure", code, {"valueInteger": value}, when=f"{day}T{clock}:00Z")

    def ia_relief(self, percent: float, day: str) -> Json:
        code = concept(hsc("ia-hip-injection-relief-pct"))
        value = {"valueQuantity": quantity(percent, "%")}
        return self.observation("procedure", code, value, when=f"{day}T10:20:00Z")

    # History ----------------------------------------------------------------------------------

    def condition(
        self,
        code: tuple[str, str, str],
        onset: str,
        *,
        verification: str = "confirmed",
        side: str | None = None,
    ) -> Json:
        """An active problem-list Condition, on the hip joint of ``side`` if given."""
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
        return self._add(resource)

    def hip_replacement(self, side: str, when: str) -> Json:
        return self._add(
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": concept((SNOMED, "52734007", "Total hip replacement")),
                "subject": self.subject,
                "performedDateTime": when,
                "bodySite": [body_site(HIP_JOINT, side)],
            }
        )

    # Unrelated data the service must ignore --------------------------------------------------

    def vital(self, loinc: str, display: str, value: float, unit: str) -> Json:
        value_q = {"valueQuantity": quantity(value, unit)}
        return self.observation("vital-signs", concept((LOINC, loinc, display)), value_q)

    def heart_rate(self, bpm: int) -> Json:
        return self.vital("8867-4", "Heart rate", bpm, "/min")

    def lab(self, loinc: str, display: str, value: float, unit: str) -> Json:
        value_q = {"valueQuantity": quantity(value, unit)}
        return self.observation("laboratory", concept((LOINC, loinc, display)), value_q)
