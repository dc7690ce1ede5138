"""Pure ``Assessment -> cards`` for patient-view (standards.md §1.5; issue 3 "Cards").

No Flask, no I/O: equal inputs give equal cards. Card and suggestion uuids are uuid5 of the
``hookInstance`` and the position, so they are unique per response and stable on a retry.
The CarePlan in the suggestion is a minimal R4 CarePlan (clinical-spec.md §6: draft/proposal,
one ``activity.detail`` per recommendation) with no reference to resources the EHR lacks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from service.core.assessment import Assessment, Category
from service.fhir.profiles import HSC_SYSTEM as HSC

OVERRIDE_REASONS = "http://hipspine-cds.org/fhir/CodeSystem/hsc-cds-override-reason"
SOURCE_LABEL = "hipspine-cds: hip–spine syndrome rules"
SUMMARY_MAX = 139  # "<140 characters" (standards.md §1.5)
_UUID_NAMESPACE = uuid.UUID("6f1f5d3e-3c1b-5d2a-9a53-8c1b1e6f0a42")

#: Categories whose §5 recommendations change management now: indicator ``warning``.
#: INSUFFICIENT_DATA, NOT_HSS_*, INDETERMINATE_NOT_HIP only inform (``info``); RED_FLAG is
#: ``critical``; NO_FINDINGS gives no card at all.
ACTION_CATEGORIES = frozenset(
    {
        Category.MISDIAGNOSED_HIP_MISSED,
        Category.MISDIAGNOSED_SPINE_MISSED,
        Category.SIMPLE_HIP_PRIMARY,
        Category.SIMPLE_SPINE_PRIMARY,
        Category.SECONDARY,
        Category.COMPLEX,
    }
)


def card_uuid(hook_instance: str, position: str) -> str:
    """A uuid for the card or suggestion at ``position`` in the answer to ``hook_instance``."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{hook_instance}|{position}"))


def indicator(category: Category) -> str:
    if category is Category.RED_FLAG:
        return "critical"
    return "warning" if category in ACTION_CATEGORIES else "info"


def category_display(assessment: Assessment) -> str:
    for conclusion in assessment.conclusions:
        if conclusion.kind == "category" and conclusion.display:
            return conclusion.display
    return assessment.category.name.replace("_", " ").capitalize()


def clip(text: str, limit: int = SUMMARY_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def md(text: str) -> str:
    """Text safe inside GitHub-Flavoured Markdown: one line, markup characters escaped."""
    out = " ".join(str(text).split())
    for ch in "\\`*_[]<>|":
        out = out.replace(ch, "\\" + ch)
    return out


def source(assessment: Assessment) -> dict[str, Any]:
    src: dict[str, Any] = {
        "label": SOURCE_LABEL,
        "topic": {"system": HSC, "code": assessment.category.value},
    }
    if assessment.rule_set.url.startswith(("https://", "http://")):
        src["url"] = assessment.rule_set.url
    display = category_display(assessment)
    if display:
        src["topic"]["display"] = display
    return src


def links(assessment: Assessment) -> list[dict[str, Any]]:
    url = assessment.rule_set.url
    if not url.startswith(("https://", "http://")):
        return []
    label = f"Hip–spine rule set {assessment.rule_set.version}".strip()
    return [{"label": label, "url": url, "type": "absolute"}]


def override_reasons() -> list[dict[str, str]]:
    return [
        {"system": OVERRIDE_REASONS, "code": "already-addressed", "display": "Already addressed"},
        {"system": OVERRIDE_REASONS, "code": "not-applicable", "display": "Not applicable"},
        {"system": OVERRIDE_REASONS, "code": "disagree", "display": "Disagree with the rules"},
    ]


def care_plan(assessment: Assessment, patient_id: str) -> dict[str, Any]:
    """A draft CarePlan (intent proposal) with one activity per recommendation (§6)."""
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"},
        "title": "Hip–spine syndrome care plan",
        "note": [{"text": f"Proposed by hipspine-cds, rule set {assessment.rule_set.canonical}"}],
    }
    if assessment.summary.strip():
        plan["description"] = assessment.summary.strip()
    activities = []
    for rec in assessment.recommendations:
        coding = {"system": HSC, "code": rec.code}
        if rec.display:
            coding["display"] = rec.display
        detail: dict[str, Any] = {
            "kind": "ServiceRequest",
            "code": {"coding": [coding]},
            "status": "not-started",
        }
        text = "; ".join(x for x in (rec.reason, ", ".join(rec.missing)) if x)
        if text:
            detail["description"] = text
        activities.append({"detail": detail})
    if activities:
        plan["activity"] = activities
    return plan


def detail(assessment: Assessment, warnings: Sequence[str]) -> str:
    """The card's Markdown: category, recommendations, reasoning trace, missing, warnings."""
    lines = [f"**{md(category_display(assessment))}** (rule {md(assessment.rule)})"]
    if assessment.summary.strip():
        lines += ["", md(assessment.summary)]
    if assessment.recommendations:
        lines += ["", "**Recommended**", ""]
        lines += [
            f"- {md(r.display or r.code)}: {md(r.reason)}" for r in assessment.recommendations
        ]
    if assessment.trace:
        lines += ["", "**Reasoning**", ""]
        lines += [f"- {md(s.rule)}: {md(s.verdict)} — {md(s.basis)}" for s in assessment.trace]
    if assessment.missing:
        lines += ["", "**Missing**", ""] + [f"- {md(m)}" for m in assessment.missing]
    notes = [*assessment.data_quality, *warnings]
    if notes:
        lines += ["", "**Warnings**", ""] + [f"- {md(w)}" for w in notes]
    lines += ["", f"Rule set: {md(assessment.rule_set.canonical)}"]
    return "\n".join(lines)


def summary(assessment: Assessment) -> str:
    text = f"Hip–spine: {category_display(assessment)}"
    if assessment.recommendations:
        first = assessment.recommendations[0]
        text += f" — {first.display or first.code}"
    return clip(text)


def patient_view_cards(
    assessment: Assessment,
    *,
    patient_id: str,
    hook_instance: str,
    relevant_count: int,
    warnings: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The patient-view answer: one card, or none when the chart has nothing to say.

    No card when no input the rules use is present (``relevant_count == 0``) or the category
    is NO_FINDINGS: a hip–spine card on every chart would be noise (issue 3).
    """
    if relevant_count == 0 or assessment.category is Category.NO_FINDINGS:
        return []
    card: dict[str, Any] = {
        "uuid": card_uuid(hook_instance, "card-0"),
        "summary": summary(assessment),
        "detail": detail(assessment, warnings),
        "indicator": indicator(assessment.category),
        "source": source(assessment),
        "overrideReasons": override_reasons(),
    }
    if assessment.recommendations:
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [
            {
                "label": "Add the proposed hip–spine care plan (draft)",
                "uuid": card_uuid(hook_instance, "card-0/suggestion-0"),
                "isRecommended": True,
                "actions": [
                    {
                        "type": "create",
                        "description": "Create a draft CarePlan with the recommendations",
                        "resource": care_plan(assessment, patient_id),
                    }
                ],
            }
        ]
    card_links = links(assessment)
    if card_links:
        card["links"] = card_links
    return [card]


def find_empty(value: Any, path: str = "$") -> list[str]:
    """Paths holding ``null``, ``""``, ``[]`` or ``{}`` (forbidden, standards.md §1.5).

    The one sanctioned empty value, a top-level ``cards: []``, is not reported.
    """
    found: list[str] = []
    if value is None or value == "" or value == [] or value == {}:
        if path != "$.cards":
            found.append(path)
        return found
    if isinstance(value, Mapping):
        for key, item in value.items():
            found += find_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += find_empty(item, f"{path}[{i}]")
    return found
