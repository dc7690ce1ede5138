"""The FHIR adapter's result of reading an input Bundle: findings plus what was used or not."""

from __future__ import annotations

from dataclasses import dataclass

from service.core.findings import Findings
from service.errors import Issue

#: ClinicalImpression.investigation groups (§6), in output order.
INVESTIGATION_GROUPS = ("hip-rom", "special-tests", "pain", "radiographic", "history")


@dataclass(frozen=True, slots=True)
class InputRef:
    """An input resource the rules used: ``reference`` is ``Type/id`` or the entry's fullUrl."""

    reference: str
    group: str  # one of INVESTIGATION_GROUPS
    resource_type: str = "Observation"  # or Condition, Procedure (R4 reference targets)


@dataclass(frozen=True)
class Extraction:
    """Everything the pipeline needs from the input Bundle, besides the Bundle itself."""

    patient_ref: str  # "Patient/{id}"
    findings: Findings
    used: tuple[InputRef, ...]  # each used input once, in Bundle order
    warnings: tuple[Issue, ...]  # excluded or doubtful inputs, each with reason and expression
    ignored: tuple[Issue, ...]  # inputs ignored by status (§1.1), listed as ignored
    input_digest: str  # SHA-256 hex of the canonical input payload (for the audit record)
    used_digest: str  # SHA-256 hex over the patient and the used inputs (output ids derive from it)
    relevant_count: int  # inputs the mappings recognised (used or excluded)
