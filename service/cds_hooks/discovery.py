"""The CDS services this service offers and the discovery document that lists them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

#: Prefetch templates gathering what clinical-spec.md §1 reads: the Patient and the patient's
#: Observations, Conditions and Procedures. Only an instance read and type-level searches with
#: a reference parameter (standards.md §1.4, the RECOMMENDED query subset).
PREFETCH: Mapping[str, str] = MappingProxyType(
    {
        "patient": "Patient/{{context.patientId}}",
        "observations": "Observation?patient={{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "procedures": "Procedure?patient={{context.patientId}}",
    }
)

_USAGE = (
    "FHIR R4 (4.0.1). Prefetch every template, or send fhirServer (on the service's "
    "allowlist) with fhirAuthorization so that the service can fetch what is missing."
)


@dataclass(frozen=True, slots=True)
class CdsService:
    """One advertised service (standards.md §1.2)."""

    id: str
    hook: str
    title: str
    description: str
    prefetch: Mapping[str, str]
    usage_requirements: str = _USAGE

    def to_json(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(self.prefetch),
            "usageRequirements": self.usage_requirements,
        }


SERVICES: tuple[CdsService, ...] = (
    CdsService(
        id="hip-spine-patient-view",
        hook="patient-view",
        title="Hip–spine syndrome assessment",
        description=(
            "Reads the patient's hip examination, pain scores, spinopelvic measures and "
            "history, applies the hip–spine syndrome rules and proposes a draft care plan. "
            "Answers with no card when the chart holds nothing the rules use."
        ),
        prefetch=PREFETCH,
    ),
    CdsService(
        id="hip-spine-order-select",
        hook="order-select",
        title="Hip findings alongside lumbar orders (select)",
        description=(
            "When a routine lumbar imaging, lumbar injection or lumbar surgery referral order "
            "is selected for a patient with hip findings, suggests adding the hip work-up "
            "alongside it (never removes or changes the order). Silent for urgent orders, red "
            "flags, orders the evaluation itself recommends, and every other order."
        ),
        prefetch=PREFETCH,
    ),
    CdsService(
        id="hip-spine-order-sign",
        hook="order-sign",
        title="Hip findings alongside lumbar orders (sign)",
        description=(
            "When a routine lumbar imaging, lumbar injection or lumbar surgery referral order "
            "is signed for a patient with hip findings, suggests adding the hip work-up "
            "alongside it (never removes or changes the order). Silent for urgent orders, red "
            "flags, orders the evaluation itself recommends, and every other order."
        ),
        prefetch=PREFETCH,
    ),
)

_BY_ID: Mapping[str, CdsService] = MappingProxyType({s.id: s for s in SERVICES})


def service_by_id(service_id: str) -> CdsService | None:
    """The advertised service with this id, or None."""
    return _BY_ID.get(service_id)


def discovery_document() -> dict[str, Any]:
    """``{"services": [...]}`` as ``GET /cds-services`` returns it."""
    return {"services": [s.to_json() for s in SERVICES]}
