"""An Assessment as FHIR R4 ClinicalImpression, CarePlan and Provenance (clinical-spec.md §6).

Pure: the time (``recorded``) and the public base URL come in as arguments and ids derive from
the used inputs and the rule-set version, so equal inputs give equal JSON apart from the
timestamps (§0.4). References between the outputs are ``urn:uuid:<id>``, matching the
``fullUrl`` of their entries in the collection Bundle (so the Bundle also converts to a
transaction as it is); the audit export rewrites them to ``Type/id``
(:func:`service.fhir.audit_resources.with_local_references`).

R4 reference targets (issue 10 item 4): ``CarePlan.activity.detail.reasonReference`` points at
the input Observations and Conditions (R4 allows no ClinicalImpression there; the
ClinicalImpression is in ``CarePlan.supportingInfo``); ``ClinicalImpression.investigation.item``
holds Observations only, input Conditions go to ``problem`` and Procedures to ``supportingInfo``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import orjson

from service.core import advice
from service.core.assessment import Assessment, Conclusion, Recommendation
from service.core.findings import Side
from service.core.summary import SUCCESS_CRITERION
from service.errors import Issue
from service.fhir.extraction import INVESTIGATION_GROUPS, Extraction, InputRef
from service.fhir.profiles import (
    CANONICAL_BASE,
    HSC_SYSTEM,
    LATERALITY_URL,
    Profiles,
    profile_url,
    rules_link,
)
from service.fhir.validated import json_ready as json_ready  # re-exported: tests patch it here

CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DEVICE_REF = "Device/hipspine-cds"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_AUTHOR = {"system": PARTICIPANT_TYPE, "code": "author", "display": "Author"}

#: §5 "Other codes" of each recommendation, sent as extra codings beside ``HSC#rec-…``.
#: CPT displays are left out (AMA descriptors are licensed text; display is optional).
ORDER_CODES: Mapping[str, tuple[dict[str, str], ...]] = {
    advice.MRI_LUMBAR_URGENT: ({"system": CPT, "code": "72148"},),  # [V]
    advice.MRI_LUMBAR: ({"system": CPT, "code": "72148"},),  # [V]
    advice.HIP_IMAGING_URGENT: ({"system": CPT, "code": "73502"},),  # [M]
    advice.IA_HIP_INJECTION: ({"system": CPT, "code": "20611"},),  # [V]
    advice.COMBINED_MANAGEMENT: (
        {"system": SNOMED, "code": "91251008", "display": "Physical therapy procedure"},  # [V2]
    ),
}

#: §1.2 side codes for the laterality extension on ``activity.detail`` (Q4-19: one extension per
#: side, never 51440002 "Right and left").
SIDE_CODES: Mapping[Side, dict[str, str]] = {
    Side.LEFT: {"system": SNOMED, "code": "7771000", "display": "Left"},
    Side.RIGHT: {"system": SNOMED, "code": "24028007", "display": "Right"},
}
#: R4 ``CarePlan.activity.detail.reasonReference`` targets among the inputs we read.
REASON_TYPES = frozenset({"Observation", "Condition"})

_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, CANONICAL_BASE)
_DISCLAIMER = "Decision support, not a diagnosis"  # §0.1
_TYPE_ID = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class OutputSet:
    """The resources of one evaluation, as JSON-ready dicts; ``care_plan`` only with advice.

    ``suggested_care_plan`` is the same CarePlan as a CDS card suggests it (issue 9 item 4:
    built by the same function, ``for_card=True``): no id, no reference an EHR cannot resolve.
    """

    clinical_impression: dict[str, Any]
    care_plan: dict[str, Any] | None
    provenance: dict[str, Any]
    suggested_care_plan: dict[str, Any] | None = None


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


def _resolvable(reference: str) -> bool:
    """A reference an EHR can resolve on its own: ``Type/id`` or an absolute URL, no urn."""
    return not reference.startswith("urn:") and (
        _TYPE_ID.fullmatch(reference) is not None or "://" in reference
    )


# --- narrative (text.status generated: EHRs that show resources show this) ---------------------


def _narrative(
    title: str, paragraphs: Sequence[str], items: Sequence[tuple[str, str]] = ()
) -> dict[str, str]:
    """A generated R4 Narrative: an XHTML ``div`` of plain paragraphs and one ordered list of
    ``(label, text)`` items (the label in bold when there is one)."""
    parts = [f"<p><b>{escape(title)}</b></p>"]
    parts += [f"<p>{escape(p)}</p>" for p in paragraphs if p]
    if items:
        lines = [f"<b>{escape(label)}</b>: {escape(text)}" if label else escape(text)
                 for label, text in items]  # fmt: skip
        parts.append("<ol>" + "".join(f"<li>{line}</li>" for line in lines) + "</ol>")
    return {"status": "generated", "div": f'<div xmlns="{XHTML_NS}">{"".join(parts)}</div>'}


# --- ClinicalImpression -------------------------------------------------------------------------


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


def _of_type(extraction: Extraction, *types: str) -> list[InputRef]:
    return [u for u in extraction.used if u.resource_type in types]


def _investigations(extraction: Extraction, profiles: Profiles) -> list[dict[str, Any]]:
    """Input Observations by §6 group (R4: investigation.item takes no Condition or Procedure)."""
    out = []
    observations = _of_type(extraction, "Observation")
    for group in INVESTIGATION_GROUPS:
        refs = [u.reference for u in observations if u.group == group]
        if refs:
            out.append(
                {
                    "code": {"coding": [_hsc(f"investigation-{group}", profiles)]},
                    "item": [{"reference": r} for r in refs],
                }
            )
    return out


def _summary(assessment: Assessment, profiles: Profiles) -> str:
    """§6.1 / Q4-44: the plain lead first, then the core's summary (never a bare "no action":
    the core's summary says why there is no plan, §5.1)."""
    lead = assessment.lead.strip()
    rest = assessment.summary.strip()
    if lead and rest.startswith(lead):
        rest = rest[len(lead) :].strip()
    text = " ".join(p for p in (lead, rest) if p)
    return text or f"{profiles.display(assessment.category.value)}."


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
    summary = _summary(assessment, profiles)
    findings = [("", c.display) for c in assessment.conclusions]
    body: dict[str, Any] = {
        "resourceType": "ClinicalImpression",
        "id": output_id(extraction.used_digest, rule_set.version, "ClinicalImpression"),
        "meta": {"profile": [profile_url("ClinicalImpression")]},
        "text": _narrative(
            f"Hip–spine assessment: {category}",
            [summary, f"{_DISCLAIMER}. Rule set {rule_set.canonical}."],
            findings,
        ),
        "status": "completed",
        "code": {"coding": [_hsc("hip-spine-assessment", profiles)]},
        "description": (  # no rule id here: rule ids belong in the trace (finding.basis, §6.1)
            f"Hip–spine syndrome assessment: {category}. Rule set {rule_set.canonical}. "
            f"{_DISCLAIMER}."
        ),
        "subject": {"reference": extraction.patient_ref},
        "effectiveDateTime": recorded,
        "date": recorded,
        "problem": [{"reference": u.reference} for u in _of_type(extraction, "Condition")],
        "investigation": _investigations(extraction, profiles),
        "protocol": [rule_set.canonical],
        "summary": summary,
        "finding": [_finding(c, profiles) for c in assessment.conclusions],
        "supportingInfo": [{"reference": u.reference} for u in _of_type(extraction, "Procedure")],
        "note": [{"text": n} for n in notes],
    }
    return json_ready(body)


# --- CarePlan ------------------------------------------------------------------------------------


def _description(rec: Recommendation) -> str:
    """§5.2: the instruction (variant, side, certainty); before the core fills it, the display
    with the reason and the missing items."""
    if rec.instruction.strip():
        return rec.instruction.strip()
    description = f"{rec.display}: {rec.reason}" if rec.reason else rec.display
    if rec.missing:
        description = f"{description.rstrip('. ')}. Missing: {'; '.join(rec.missing)}."
    return description


def _display(rec: Recommendation, profiles: Profiles) -> str:
    """The core's display of this recommendation (a variant, e.g. the emergency words of Q10-02,
    may differ from the CodeSystem display that ``coding.display`` carries)."""
    return rec.display or profiles.display(rec.code)


def _laterality(rec: Recommendation) -> list[dict[str, Any]]:
    """One laterality extension per side the recommendation names (§5.4, E4-18, Q4-19)."""
    return [
        {"url": LATERALITY_URL, "valueCodeableConcept": {"coding": [SIDE_CODES[side]]}}
        for side in rec.sides
    ]


def _activity(
    rec: Recommendation, reasons: list[dict[str, str]], profiles: Profiles, public_base_url: str
) -> dict[str, Any]:
    code = rec.code.removeprefix("HSC#")
    return {
        "detail": {
            "extension": _laterality(rec),
            "kind": "ServiceRequest",
            "instantiatesUri": [rules_link(public_base_url, rec.anchor.removeprefix("HSC#"))],
            "code": {
                "coding": [_hsc(code, profiles), *ORDER_CODES.get(code, ())],
                "text": _display(rec, profiles),
            },
            "reasonReference": reasons,
            "status": "not-started",
            "description": _description(rec),
        }
    }


def review_note(weeks: int) -> str:
    """The success-criterion note of a plan with a review period (§5.2 "Review", Q4-42)."""
    return (
        f"Re-assess in {weeks} weeks. Success criterion: {SUCCESS_CRITERION} "
        "from the start of the plan [S25]."
    )


def care_plan(
    assessment: Assessment,
    extraction: Extraction,
    *,
    recorded: datetime,
    profiles: Profiles,
    public_base_url: str,
    for_card: bool = False,
) -> dict[str, Any] | None:
    """The §6 CarePlan, one activity per §5 recommendation in §5.3 order; ``None`` without one.

    ``for_card`` builds the copy a CDS card suggests (issue 9 item 4): the same activities,
    descriptions, sides, period and note, but no ``id``, no ``supportingInfo`` (the
    ClinicalImpression is not in the EHR) and only input references an EHR can resolve.
    """
    if not assessment.recommendations:
        return None
    rule_set = assessment.rule_set
    ci_id = output_id(extraction.used_digest, rule_set.version, "ClinicalImpression")
    category = profiles.display(assessment.category.value)
    count = len(assessment.recommendations)
    reasons = [{"reference": u.reference} for u in _of_type(extraction, *REASON_TYPES)]
    if for_card:
        reasons = [r for r in reasons if _resolvable(r["reference"])]
    activities = [
        _activity(r, reasons, profiles, public_base_url) for r in assessment.recommendations
    ]
    weeks = assessment.review_weeks
    period = (
        {"start": recorded, "end": recorded + timedelta(weeks=weeks)} if weeks else None
    )  # Q4-39: from the time the evaluation ran; Q4-42: 6 or 8 weeks
    notes = [review_note(weeks)] if weeks else []
    title = "Hip–spine syndrome: proposed next steps"
    body = {
        "resourceType": "CarePlan",
        "id": None if for_card else output_id(extraction.used_digest, rule_set.version, "CarePlan"),
        "meta": {"profile": [profile_url("CarePlan")]},
        "text": _narrative(
            title,
            [assessment.lead.strip(), *notes, f"{_DISCLAIMER}, and not an order."],
            [(_display(r, profiles), _description(r)) for r in assessment.recommendations],
        ),
        "instantiatesCanonical": [rule_set.canonical],
        "status": "draft",
        "intent": "proposal",
        "title": title,
        "description": (  # §6.1: no flag names or rule ids in the plan
            f"{count} proposed step{'s' if count != 1 else ''} for: {category}. For the "
            f"clinician to review (rule set {rule_set.canonical}). {_DISCLAIMER}, and not an order."
        ),
        "subject": {"reference": extraction.patient_ref},
        "period": period,
        "created": recorded,
        "supportingInfo": None if for_card else [_ref(ci_id)],
        "activity": activities,
        "note": [{"text": n} for n in notes],
    }
    return json_ready(body)


def card_copy(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The CarePlan a CDS card suggests, from the built one (``care_plan(..., for_card=True)``
    without building it again, issue 14): no ``id``, no ``supportingInfo``, and of each
    activity's ``reasonReference`` only the references an EHR can resolve (the element goes
    when none is left); everything else, key order included, as in ``plan``."""
    card: dict[str, Any] = orjson.loads(orjson.dumps(plan))  # a deep copy of JSON data
    card.pop("id", None)
    card.pop("supportingInfo", None)
    resolvable: dict[str, bool] = {}  # every activity names the same inputs: test each once
    for activity in card.get("activity", ()):
        detail = activity.get("detail", {})
        if "reasonReference" in detail:
            kept = []
            for r in detail["reasonReference"]:
                ref = r["reference"]
                if (ok := resolvable.get(ref)) is None:
                    ok = resolvable[ref] = _resolvable(ref)
                if ok:
                    kept.append(r)
            if kept:
                detail["reasonReference"] = kept
            else:
                del detail["reasonReference"]
    return card


# --- Provenance and the answer Bundle ------------------------------------------------------------


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
    return json_ready(body)


def build_outputs(
    assessment: Assessment,
    extraction: Extraction,
    *,
    recorded: datetime,
    profiles: Profiles,
    public_base_url: str,
) -> OutputSet:
    """ClinicalImpression, CarePlan (only with recommendations), Provenance of both, and the
    CarePlan as a card suggests it.

    ``public_base_url`` is the deployment's PUBLIC_BASE_URL: each activity links to its anchor on
    the rules page, ``{public_base_url}/rules#{code}`` (§6.2, Q4-46).

    :raise ValueError: ``recorded`` has no timezone (FHIR ``instant`` requires one).
    :raise service.errors.HipSpineError: a code is not in CodeSystem hsc (a bug).
    """
    if recorded.tzinfo is None or recorded.utcoffset() is None:
        raise ValueError("recorded must be timezone-aware")
    ci = clinical_impression(assessment, extraction, recorded=recorded, profiles=profiles)
    cp = care_plan(
        assessment,
        extraction,
        recorded=recorded,
        profiles=profiles,
        public_base_url=public_base_url,
    )
    suggested = card_copy(cp) if cp is not None else None
    targets = [ci["id"]] + ([cp["id"]] if cp is not None else [])
    prov = provenance(
        targets,
        extraction,
        recorded=recorded,
        version=assessment.rule_set.version,
        policy=assessment.rule_set.canonical,
    )
    return OutputSet(
        clinical_impression=ci, care_plan=cp, provenance=prov, suggested_care_plan=suggested
    )


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
    # Not validated per call (issue 14 item 1): the tests and the start-up self-check validate
    # whole answer Bundles (service.fhir.emitted).
    return body
