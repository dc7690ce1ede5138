"""An Assessment as FHIR R4 ClinicalImpression, CarePlan and Provenance (clinical-spec.md §6).

Pure: the time (``recorded``) comes in as an argument and ids derive from the used inputs and
the rule-set version, so equal inputs give equal JSON apart from the timestamps (§0.4).
References between the outputs are ``urn:uuid:<id>``, matching the ``fullUrl`` of their entries
in the collection Bundle (so the Bundle also converts to a transaction as it is).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.clinicalimpression import ClinicalImpression
from fhir.resources.R4B.provenance import Provenance

from service.core.assessment import Assessment, Conclusion, Recommendation
from service.errors import Issue
from service.fhir.extraction import INVESTIGATION_GROUPS, Extraction
from service.fhir.profiles import CANONICAL_BASE, HSC_SYSTEM, Profiles, profile_url
from service.fhir.validated import checked

CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DEVICE_REF = "Device/hipspine-cds"
_AUTHOR = {"system": PARTICIPANT_TYPE, "code": "author", "display": "Author"}

#: §5 "Other codes" of each recommendation, sent as extra codings beside ``HSC#rec-…``.
#: CPT displays are left out (AMA descriptors are licensed text; display is optional).
ORDER_CODES: Mapping[str, tuple[dict[str, str], ...]] = {
    "rec-mri-lumbar-urgent": ({"system": CPT, "code": "72148"},),  # [V]
    "rec-mri-lumbar": ({"system": CPT, "code": "72148"},),  # [V]
    "rec-diagnostic-ia-hip-injection": ({"system": CPT, "code": "20611"},),  # [V]
    "rec-imaging-spinopelvic": ({"system": CPT, "code": "72081"},),  # [V]
    "rec-combined-hip-lumbar-management": (
        {"system": SNOMED, "code": "91251008", "display": "Physical therapy procedure"},  # [V2]
    ),
}

_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, CANONICAL_BASE)
_NO_ACTION = "No hip–spine action is recommended."  # §5: said when there is no CarePlan
_DISCLAIMER = "Decision support, not a diagnosis"  # §0.1


@dataclass(frozen=True)
class OutputSet:
    """The resources of one evaluation, as JSON-ready dicts; ``care_plan`` only with advice."""

    clinical_impression: dict[str, Any]
    care_plan: dict[str, Any] | None
    provenance: dict[str, Any]


def output_id(used_digest: str, version: str, resource_type: str) -> str:
    """Deterministic id: uuid5 over (used inputs, rule-set version, resource type)."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{used_digest}|{version}|{resource_type}"))


def _ref(resource_id: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource_id}"}


def _hsc(code: str, profiles: Profiles) -> dict[str, str]:
    bare = code.removeprefix("HSC#")
    return {"system": HSC_SYSTEM, "code": bare, "display": profiles.display(bare)}


def _issue_text(prefix: str, issue: Issue) -> str:
    where = f" ({', '.join(issue.expression)})" if issue.expression else ""
    return f"{prefix}: {issue.diagnostics}{where}"


def _finding(conclusion: Conclusion, profiles: Profiles) -> dict[str, Any]:
    basis = conclusion.basis
    if conclusion.rule and not basis.startswith(conclusion.rule):  # §6: basis names the rule
        basis = f"{conclusion.rule}: {basis}"
    return {
        "itemCodeableConcept": {
            "coding": [_hsc(conclusion.code, profiles)],
            "text": conclusion.display,
        },
        "basis": basis,
    }


def _investigations(extraction: Extraction, profiles: Profiles) -> list[dict[str, Any]]:
    out = []
    for group in INVESTIGATION_GROUPS:
        refs = [u.reference for u in extraction.used if u.group == group]
        if refs:
            out.append(
                {
                    "code": {"coding": [_hsc(f"investigation-{group}", profiles)]},
                    "item": [{"reference": r} for r in refs],
                }
            )
    return out


def _summary(assessment: Assessment) -> str:
    summary = assessment.summary.strip()
    if not assessment.recommendations and "no hip–spine action" not in summary.lower():
        summary = f"{summary} {_NO_ACTION}".strip()
    return summary


def clinical_impression(
    assessment: Assessment, extraction: Extraction, *, recorded: datetime, profiles: Profiles
) -> dict[str, Any]:
    """The §6 ClinicalImpression: category first, one finding per conclusion."""
    rule_set = assessment.rule_set
    notes = [
        *(_issue_text("Warning", w) for w in extraction.warnings),
        *(_issue_text("Ignored input", i) for i in extraction.ignored),
        *(f"Data quality: {d}" for d in assessment.data_quality),
    ]
    category = profiles.display(assessment.category.value)
    body: dict[str, Any] = {
        "resourceType": "ClinicalImpression",
        "id": output_id(extraction.used_digest, rule_set.version, "ClinicalImpression"),
        "meta": {"profile": [profile_url("ClinicalImpression")]},
        "status": "completed",
        "code": {"coding": [_hsc("hip-spine-assessment", profiles)]},
        "description": (
            f"Hip–spine syndrome assessment: {category} (rule {assessment.rule}), "
            f"rule set {rule_set.canonical}. {_DISCLAIMER}."
        ),
        "subject": {"reference": extraction.patient_ref},
        "effectiveDateTime": recorded,
        "date": recorded,
        "investigation": _investigations(extraction, profiles) or None,
        "protocol": [rule_set.canonical],
        "summary": _summary(assessment),
        "finding": [_finding(c, profiles) for c in assessment.conclusions] or None,
        "note": [{"text": n} for n in notes] or None,
    }
    return checked(ClinicalImpression, body)


def _activity(rec: Recommendation, ci_id: str, profiles: Profiles) -> dict[str, Any]:
    code = rec.code.removeprefix("HSC#")
    description = f"{rec.display}: {rec.reason}" if rec.reason else rec.display
    if rec.missing:
        description = f"{description.rstrip('. ')}. Missing: {'; '.join(rec.missing)}."
    return {
        "detail": {
            "kind": "ServiceRequest",
            "code": {
                "coding": [_hsc(code, profiles), *ORDER_CODES.get(code, ())],
                "text": rec.display,
            },
            "reasonReference": [_ref(ci_id)],
            "status": "not-started",
            "description": description,
        }
    }


def care_plan(
    assessment: Assessment, extraction: Extraction, *, recorded: datetime, profiles: Profiles
) -> dict[str, Any] | None:
    """The §6 CarePlan, one activity per §5 recommendation; ``None`` when there is none."""
    if not assessment.recommendations:
        return None
    rule_set = assessment.rule_set
    ci_id = output_id(extraction.used_digest, rule_set.version, "ClinicalImpression")
    category = profiles.display(assessment.category.value)
    count = len(assessment.recommendations)
    body = {
        "resourceType": "CarePlan",
        "id": output_id(extraction.used_digest, rule_set.version, "CarePlan"),
        "meta": {"profile": [profile_url("CarePlan")]},
        "instantiatesCanonical": [rule_set.canonical],
        "status": "draft",
        "intent": "proposal",
        "title": "Hip–spine syndrome: proposed next steps",
        "description": (
            f"{count} proposed step{'s' if count != 1 else ''} for {category} "
            f"(rule {assessment.rule}, rule set {rule_set.canonical}), for the clinician to "
            f"review. {_DISCLAIMER}, and not an order."
        ),
        "subject": {"reference": extraction.patient_ref},
        "created": recorded,
        "supportingInfo": [_ref(ci_id)],
        "activity": [_activity(r, ci_id, profiles) for r in assessment.recommendations],
    }
    return checked(CarePlan, body)


def provenance(
    targets: list[str], extraction: Extraction, *, recorded: datetime, version: str, policy: str
) -> dict[str, Any]:
    """The §6 Provenance of ``targets`` (output ids): the service as author, inputs as sources."""
    body = {
        "resourceType": "Provenance",
        "id": output_id(extraction.used_digest, version, "Provenance"),
        "meta": {"profile": [profile_url("Provenance")]},
        "target": [_ref(t) for t in targets],
        "recorded": recorded,
        "policy": [policy],
        "agent": [
            {
                "type": {"coding": [_AUTHOR]},
                "who": {"reference": DEVICE_REF, "display": f"hipspine-cds rules {version}"},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": u.reference}} for u in extraction.used]
        or None,
    }
    return checked(Provenance, body)


def build_outputs(
    assessment: Assessment, extraction: Extraction, *, recorded: datetime, profiles: Profiles
) -> OutputSet:
    """ClinicalImpression, CarePlan (only with recommendations) and Provenance of both.

    :raise ValueError: ``recorded`` has no timezone (FHIR ``instant`` requires one).
    :raise service.errors.HipSpineError: a code is not in CodeSystem hsc (a bug).
    """
    if recorded.tzinfo is None or recorded.utcoffset() is None:
        raise ValueError("recorded must be timezone-aware")
    ci = clinical_impression(assessment, extraction, recorded=recorded, profiles=profiles)
    cp = care_plan(assessment, extraction, recorded=recorded, profiles=profiles)
    targets = [ci["id"]] + ([cp["id"]] if cp is not None else [])
    prov = provenance(
        targets,
        extraction,
        recorded=recorded,
        version=assessment.rule_set.version,
        policy=assessment.rule_set.canonical,
    )
    return OutputSet(clinical_impression=ci, care_plan=cp, provenance=prov)


def output_bundle(outputs: OutputSet, warnings_outcome: dict[str, Any] | None) -> dict[str, Any]:
    """The ``collection`` Bundle answering ``$hip-spine-evaluate`` (standards.md §4.2).

    Entries: ClinicalImpression, CarePlan (if any), Provenance, then the OperationOutcome of
    warnings and ignored inputs when there is one; each ``fullUrl`` is ``urn:uuid:<id>``.
    """
    ci_id = outputs.clinical_impression["id"]
    resources = [outputs.clinical_impression, outputs.care_plan, outputs.provenance]
    if warnings_outcome is not None:
        oo_id = warnings_outcome.get("id") or str(
            uuid.uuid5(_ID_NAMESPACE, f"{ci_id}|OperationOutcome")
        )
        rest = {k: v for k, v in warnings_outcome.items() if k not in ("resourceType", "id")}
        resources.append({"resourceType": "OperationOutcome", "id": oo_id, **rest})
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_ID_NAMESPACE, f"{ci_id}|Bundle")),
        "type": "collection",
        "timestamp": outputs.provenance["recorded"],  # already an instant string
        "entry": [
            {"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources if r is not None
        ],
    }
    # Each entry was checked against its R4B class when built; validating the Bundle again
    # would re-validate every entry for nothing (tests validate whole answer Bundles).
    return body

