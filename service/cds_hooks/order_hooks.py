"""order-select / order-sign: hip work-up first before a draft lumbar spine order (issue 3).

Pure functions. Only draft ``ServiceRequest`` orders whose code is in
``mappings/ConceptMap-lumbar-orders.json`` (lumbar imaging, lumbar injection, lumbar surgery or
surgical referral) are spoken about; any other order gets no card. For such an order a warning
card recommends the hip work-up first when the hip has not been examined or HIP_SIGNS is true
(clinical-spec.md §2), unless the category already points at the spine or is RED_FLAG: nothing
may delay an emergency work-up (§0.3), and after R3, R4 (IA_NEG), R6 (spine signs only) or R9
the hip has been worked up or excluded.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from service.cds_hooks.cards import card_uuid, category_display, clip, links, md, source
from service.core.assessment import Assessment, Category
from service.core.findings import Findings, SidedTest
from service.core.tri import Tri
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.profiles import HSC_SYSTEM

KIND_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "order-lumbar-imaging": "lumbar imaging",
        "order-lumbar-injection": "lumbar injection",
        "order-lumbar-surgery-referral": "lumbar surgery referral",
    }
)
#: Categories after which no hip-first card is given (see the module docstring).
SILENT_CATEGORIES = frozenset(
    {
        Category.RED_FLAG,
        Category.SIMPLE_SPINE_PRIMARY,
        Category.MISDIAGNOSED_SPINE_MISSED,
        Category.INDETERMINATE_NOT_HIP,
        Category.NOT_HSS_SPINE,
    }
)
#: §5 recommendations that are hip work-up: hip imaging, diagnostic hip injection, referral.
HIP_WORKUP = ("rec-imaging-hip-xray", "rec-diagnostic-ia-hip-injection", "rec-ortho-hip-referral")
HIP_EXAM_TESTS = frozenset(
    {
        SidedTest.FADIR,
        SidedTest.FABER,
        SidedTest.SCOUR,
        SidedTest.LOG_ROLL,
        SidedTest.PASSIVE_IR_PAIN,
        SidedTest.THOMAS,
    }
)
#: The hip part of the §5 minimum set (INSUFFICIENT_DATA row).
HIP_EXAM = (
    "Examine the hip: internal rotation of both hips, FADIR, FABER (with the pain location "
    "when positive), and groin pain (NRS)"
)


@dataclass(frozen=True, slots=True)
class LumbarOrder:
    """A draft order about the lumbar spine; ``reference`` is ``ServiceRequest/{id}`` or None."""

    reference: str | None
    kind: str
    display: str
    resource: Mapping[str, Any]


def order_codes(index: ConceptMapIndex) -> Mapping[tuple[str, str], str]:
    """``(system, code) -> order kind`` of ``ConceptMap-lumbar-orders.json``, as the app's
    ConceptMap index loaded (and checked) it at start-up from ``Settings.mappings_dir``."""
    return index.domain(HSC_SYSTEM)


def lumbar_orders(
    draft_orders: Mapping[str, Any],
    selections: Sequence[str] | None,
    codes: Mapping[tuple[str, str], str],
) -> list[LumbarOrder]:
    """The draft lumbar orders of ``draftOrders`` (only the selected ones when given).

    ``codes`` is the ``(system, code) -> order kind`` map (:func:`order_codes`).
    """
    found: list[LumbarOrder] = []
    for entry in draft_orders.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "ServiceRequest":
            continue
        if resource.get("status") != "draft":
            continue
        rid = resource.get("id")
        reference = f"ServiceRequest/{rid}" if isinstance(rid, str) and rid else None
        if selections is not None and reference not in selections:
            continue
        raw_code = resource.get("code")
        code: dict[str, Any] = raw_code if isinstance(raw_code, dict) else {}
        for coding in code.get("coding") or ():
            if not isinstance(coding, dict):
                continue
            kind = codes.get((str(coding.get("system")), str(coding.get("code"))))
            if kind is not None:
                display = coding.get("display") or code.get("text") or coding.get("code")
                found.append(LumbarOrder(reference, kind, str(display), resource))
                break
    return found


def hip_examined(findings: Findings) -> bool:
    """True when any hip range of motion or hip provocative test is on record."""
    if findings.rom or findings.contracture_angle:
        return True
    return any(test in HIP_EXAM_TESTS for test, _side in findings.sided_tests)


def _flag(assessment: Assessment, name: str) -> tuple[Tri, str]:
    wanted = name.upper()
    for key, flag in assessment.flags.items():
        if key.upper().replace("-", "_") == wanted:
            return flag.value, flag.basis
    return Tri.UNKNOWN, ""


def workup(assessment: Assessment, examined: bool) -> list[str]:
    """The hip work-up to do first, per the category's §5 recommendations."""
    steps = [] if examined else [HIP_EXAM]
    by_code = {r.code: r for r in assessment.recommendations}
    steps += [f"{by_code[c].display}: {by_code[c].reason}" for c in HIP_WORKUP if c in by_code]
    if len(steps) == 0:
        steps = [f"{r.display}: {r.reason}" for r in assessment.recommendations]
    return steps


def order_cards(
    assessment: Assessment,
    findings: Findings,
    orders: Sequence[LumbarOrder],
    *,
    hook_instance: str,
) -> list[dict[str, Any]]:
    """One warning card per lumbar draft order when the hip should be worked up first."""
    if assessment.category in SILENT_CATEGORIES:
        return []
    examined = hip_examined(findings)
    signs, basis = _flag(assessment, "HIP_SIGNS")
    if examined and signs is not Tri.TRUE:
        return []
    cards = []
    for i, order in enumerate(orders):
        cards.append(_card(assessment, order, examined, basis, hook_instance, f"order-{i}"))
    return cards


def _card(
    assessment: Assessment,
    order: LumbarOrder,
    examined: bool,
    basis: str,
    hook_instance: str,
    position: str,
) -> dict[str, Any]:
    words = KIND_WORDS.get(order.kind, "lumbar order")
    if examined:
        summary = f"Hip signs present: work up the hip before this {words} order"
        why = f"Hip signs are present: {md(basis)}" if basis else "Hip signs are present."
    else:
        summary = f"Examine the hip before this {words} order (hip–spine syndrome)"
        why = "The hip has not been examined (no hip range of motion or provocative test)."
    lines = [
        f"**Draft order**: {md(order.display)}",
        "",
        why,
        "",
        f"**Assessment**: {md(category_display(assessment))} (rule {md(assessment.rule)})",
        "",
        "**Hip work-up first**",
        "",
    ]
    lines += [f"- {md(step)}" for step in workup(assessment, examined)]
    lines += ["", f"Rule set: {md(assessment.rule_set.canonical)}"]
    card: dict[str, Any] = {
        "uuid": card_uuid(hook_instance, position),
        "summary": clip(summary),
        "detail": "\n".join(lines),
        "indicator": "warning",
        "source": source(assessment),
    }
    if order.reference is not None:
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = _suggestions(order, words, hook_instance, position)
    card_links = links(assessment)
    if card_links:
        card["links"] = card_links
    return card


def _suggestions(
    order: LumbarOrder, words: str, hook_instance: str, position: str
) -> list[dict[str, Any]]:
    assert order.reference is not None
    held = copy.deepcopy(dict(order.resource))
    raw_notes = held.get("note")
    notes: list[Any] = raw_notes if isinstance(raw_notes, list) else []
    held["note"] = [*notes, {"text": "Hold until the hip work-up is done (hip–spine CDS)."}]
    return [
        {
            "label": f"Remove the draft {words} order until the hip work-up is done",
            "uuid": card_uuid(hook_instance, f"{position}/suggestion-0"),
            "isRecommended": True,
            "actions": [
                {
                    "type": "delete",
                    "description": f"Remove the draft {words} order",
                    "resourceId": order.reference,
                }
            ],
        },
        {
            "label": f"Keep the draft {words} order, noting the hip work-up comes first",
            "uuid": card_uuid(hook_instance, f"{position}/suggestion-1"),
            "actions": [
                {
                    "type": "update",
                    "description": f"Add a note to the draft {words} order",
                    "resourceId": order.reference,
                    "resource": held,
                }
            ],
        },
    ]
