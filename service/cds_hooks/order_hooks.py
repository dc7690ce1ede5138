"""order-select / order-sign: the hip beside a draft lumbar order (clinical-spec.md §6.3, E4-1).

Pure functions. Only draft ``ServiceRequest`` orders whose code maps to a lumbar imaging or
lumbar procedure order (``mappings/ConceptMap-lumbar-orders.json``) are considered; with
``order-select`` only those named in ``context.selections`` (Q4-32h). For each, in this order:

1. silent when its ``priority`` is urgent/asap/stat; when RED_FLAG is true; when its
   ``reasonCode``/``reasonReference`` names a red-flag Condition (cauda equina, malignancy) or an
   ``HSC#rf-*`` code (a reference resolved from ``prefetch`` or ``contained`` only, Q4-32a–c);
   when the patient's own evaluation recommends that kind of order or carries SPINE_FIRST;
2. silent when neither HIP_PATH nor HIP_SIGNS is true, or when the category has the hip worked
   up or excluded (SIMPLE_SPINE_PRIMARY, INDETERMINATE_NOT_HIP, NOT_HSS_SPINE, NO_FINDINGS);
3. otherwise ONE card for the call (Q4-32d) listing the orders it concerns (Q5-10): only
   ``create`` suggestions that add the hip-directed recommendations as draft ServiceRequests,
   never ``delete`` or ``update`` of the clinician's order (§0.3: nothing may delay a work-up).

A draft order the service itself suggested (identifier system :data:`SUGGESTION_SYSTEM`) is never
considered (Q4-32e). Why each order stayed silent is returned as notes for the audit record and
logged as reason codes only (no patient data, Q4-32g); it is never answered as a card.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.cds_hooks.cards import (
    DETAIL_MAX,
    SUGGESTION_SYSTEM,
    card_uuid,
    links,
    md,
    order_override_reasons,
    plan_lines,
    source,
    suggestion_identifier,
    truncate,
)
from service.core import advice
from service.core.assessment import Assessment, Category, Recommendation
from service.core.findings import ConditionKind, RedFlag
from service.core.tri import Tri
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.kinds import FINDING_KIND
from service.fhir.outputs import ORDER_CODES
from service.fhir.profiles import HSC_SYSTEM

log = logging.getLogger(__name__)

__all__ = [
    "SUGGESTION_SYSTEM",
    "OrderCodes",
    "answer_without_chart",
    "lumbar_orders",
    "order_cards",
    "order_codes",
]


#: The order-hook card's summary (Q10-07: "alongside", never "before").
SUMMARY = "Hip findings: consider the hip as a pain source alongside this lumbar order"
CARD_POSITION = "order-card"
#: ``ServiceRequest.priority`` values that silence the hook (§6.3 step 1).
URGENT_PRIORITIES = frozenset({"urgent", "asap", "stat"})
#: Categories that point at the hip: indicator ``warning`` (§6.3 step 3), else ``info``.
HIP_CATEGORIES = frozenset(
    {
        Category.SECONDARY,
        Category.SIMPLE_HIP_PRIMARY,
        Category.MISDIAGNOSED_HIP_MISSED,
        Category.NOT_HSS_HIP,
    }
)
#: Categories where the hip is already worked up or excluded (§6.3 step 2).
HIP_DONE_CATEGORIES = frozenset(
    {
        Category.SIMPLE_SPINE_PRIMARY,
        Category.INDETERMINATE_NOT_HIP,
        Category.NOT_HSS_SPINE,
        Category.NO_FINDINGS,
    }
)
#: Order kind -> the recommendations of the patient's own evaluation that ask for it (§6.3).
RECOMMENDED_BY: Mapping[str, frozenset[str]] = {
    "order-lumbar-imaging": frozenset({advice.MRI_LUMBAR, advice.MRI_LUMBAR_URGENT}),
    "order-lumbar-injection": frozenset({advice.SPINE_REFERRAL}),
    "order-lumbar-surgery-referral": frozenset({advice.SPINE_REFERRAL}),
}
#: ``finding-kind`` targets of a Condition that is a red flag (§1.3: CES; malignancy, Q4-32c,
#: from ``mappings/ConceptMap-malignancy.json``, where a site adds its codes, Q10-01).
RED_FLAG_CONDITION_KINDS = frozenset(
    {ConditionKind.CAUDA_EQUINA.value, ConditionKind.MALIGNANCY.value}
)
_RF_KINDS = frozenset(flag.value for flag in RedFlag)  # the HSC#rf-* finding kinds (Q4-32b)
_NOT_COUNTED = frozenset({"refuted", "entered-in-error"})  # Condition.verificationStatus


@dataclass(frozen=True)
class OrderCodes(Mapping[tuple[str, str], str]):
    """``(system, code) -> order kind`` of the lumbar-order map, with the ConceptMap index the
    red-flag reasons are read through (both loaded and checked once at start-up)."""

    kinds: Mapping[tuple[str, str], str]
    index: ConceptMapIndex | None = None

    def __getitem__(self, key: tuple[str, str]) -> str:
        return self.kinds[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.kinds)

    def __len__(self) -> int:
        return len(self.kinds)


def order_codes(index: ConceptMapIndex) -> OrderCodes:
    """The lumbar-order kinds of ``ConceptMap-lumbar-orders.json`` as the app's ConceptMap index
    loaded them from ``Settings.mappings_dir``, with that index."""
    return OrderCodes(index.domain(HSC_SYSTEM), index)


@dataclass(frozen=True, slots=True)
class LumbarOrder:
    """A draft lumbar order. ``silenced`` holds what silences it whatever the evaluation says
    (priority, a red-flag reason)."""

    reference: str | None  # "ServiceRequest/{id}"
    kind: str
    display: str  # Q6-03 / Q8-04
    resource: Mapping[str, Any]
    silenced: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """What the hook answers: the orders the card concerns, and why the others are silent."""

    concerned: tuple[LumbarOrder, ...]
    notes: tuple[str, ...] = field(default=())


def order_display(resource: Mapping[str, Any]) -> str:
    """Q6-03, Q8-04: the first coding's display, else ``code.text``, else ``system|code``."""
    code = resource.get("code")
    code = code if isinstance(code, Mapping) else {}
    codings = [c for c in code.get("coding") or () if isinstance(c, Mapping)]
    if codings and isinstance(codings[0].get("display"), str) and codings[0]["display"]:
        return str(codings[0]["display"])
    if isinstance(code.get("text"), str) and code["text"]:
        return str(code["text"])
    if codings:
        return f"{codings[0].get('system', '')}|{codings[0].get('code', '')}"
    return "order without a code"


def is_suggestion(resource: Mapping[str, Any]) -> bool:
    """True for a resource this service suggested (Q4-32e)."""
    return any(
        isinstance(i, Mapping) and i.get("system") == SUGGESTION_SYSTEM
        for i in resource.get("identifier") or ()
    )


def lumbar_orders(
    draft_orders: Mapping[str, Any],
    selections: Sequence[str] | None,
    codes: Mapping[tuple[str, str], str],
    prefetch: Mapping[str, Any] | None = None,
) -> list[LumbarOrder]:
    """The draft lumbar orders of ``draftOrders`` to consider (Q4-32h: only the selected ones
    when ``selections`` is given), each with what silences it by itself.

    ``codes`` is :func:`order_codes`; ``prefetch`` resolves ``reasonReference`` (Q4-32a).
    Orders the service itself suggested are left out (Q4-32e).
    """
    index = codes.index if isinstance(codes, OrderCodes) else None
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
        kind = _kind(resource, codes)
        if kind is None:
            continue
        if is_suggestion(resource):
            log.info("order hook: a suggested order is not considered", extra={"reason": kind})
            continue
        silenced: list[str] = []
        priority = resource.get("priority")
        if priority in URGENT_PRIORITIES:
            silenced.append(f"priority {priority}")
        if red_flag_reason(resource, prefetch or {}, index):
            silenced.append("red-flag reason")
        found.append(
            LumbarOrder(reference, kind, order_display(resource), resource, tuple(silenced))
        )
    return found


def _kind(resource: Mapping[str, Any], codes: Mapping[tuple[str, str], str]) -> str | None:
    code = resource.get("code")
    for coding in (code.get("coding") or ()) if isinstance(code, Mapping) else ():
        if isinstance(coding, Mapping):
            kind = codes.get((str(coding.get("system")), str(coding.get("code"))))
            if kind is not None:
                return kind
    return None


# -- red-flag reasons (Q4-32 a–c) --------------------------------------------------------------


def red_flag_reason(
    order: Mapping[str, Any], prefetch: Mapping[str, Any], index: ConceptMapIndex | None
) -> bool:
    """True when the order's ``reasonCode`` or a ``reasonReference`` resolved from ``prefetch``
    or the order's ``contained`` resources names a red-flag Condition or an ``HSC#rf-*`` code.

    Codes are read through the app's ConceptMap index (the malignancy codes of Q4-04/Q10-01,
    C44 excepted, Q7-02), so a site's own codes count; without an index only ``HSC#rf-*``."""
    concepts = [c for c in order.get("reasonCode") or () if isinstance(c, Mapping)]
    for ref in order.get("reasonReference") or ():
        target = _resolve(ref, order, prefetch) if isinstance(ref, Mapping) else None
        if target is None or _refuted(target):
            continue
        if isinstance(target.get("code"), Mapping):
            concepts.append(target["code"])
    return any(_red_flag_concept(c, index) for c in concepts)


def _red_flag_concept(concept: Mapping[str, Any], index: ConceptMapIndex | None) -> bool:
    for coding in concept.get("coding") or ():
        if not isinstance(coding, Mapping):
            continue
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(code, str):
            continue
        if system == HSC_SYSTEM and code.startswith("rf-"):
            return True
        target = index.lookup(FINDING_KIND, system, code) if index is not None else None
        if target is not None and (target in RED_FLAG_CONDITION_KINDS or target in _RF_KINDS):
            return True
    return False


def _refuted(resource: Mapping[str, Any]) -> bool:
    status = resource.get("verificationStatus")
    codings = status.get("coding") if isinstance(status, Mapping) else None
    return any(isinstance(c, Mapping) and c.get("code") in _NOT_COUNTED for c in codings or ())


def _resolve(
    ref: Mapping[str, Any], order: Mapping[str, Any], prefetch: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """A ``reasonReference`` target from ``contained`` (``#id``) or ``prefetch`` only (Q4-32a)."""
    reference = ref.get("reference")
    if not isinstance(reference, str) or not reference:
        return None
    if reference.startswith("#"):
        for res in order.get("contained") or ():
            if isinstance(res, Mapping) and res.get("id") == reference[1:]:
                return res
        return None
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) < 2:
        return None
    rtype, rid = parts[-2], parts[-1]
    for res in _prefetched(prefetch):
        if res.get("resourceType") == rtype and res.get("id") == rid:
            return res
    return None


def _prefetched(prefetch: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for value in prefetch.values():
        if not isinstance(value, Mapping):
            continue
        if value.get("resourceType") == "Bundle":
            for entry in value.get("entry") or ():
                res = entry.get("resource") if isinstance(entry, Mapping) else None
                if isinstance(res, Mapping):
                    yield res
        else:
            yield value


# -- the decision (§6.3 steps 1–3) ---------------------------------------------------------------


def _true(assessment: Assessment, name: str) -> bool:
    flag = assessment.flags.get(name)
    return flag is not None and flag.value is Tri.TRUE


def _spine_first(assessment: Assessment) -> bool:
    return _true(assessment, "SPINE_FIRST") or any(
        c.code == "priority-spine-first" for c in assessment.conclusions
    )


def decide(assessment: Assessment, orders: Sequence[LumbarOrder]) -> Decision:
    """Which orders the card concerns; a note for each order that stays silent, and why."""
    recommended = {r.code for r in assessment.recommendations}
    concerned: list[LumbarOrder] = []
    notes: list[str] = []
    for order in orders:
        reasons = list(order.silenced)
        if _true(assessment, "RED_FLAG"):
            reasons.append("RED_FLAG true")
        if recommended & RECOMMENDED_BY.get(order.kind, frozenset()):
            reasons.append("the evaluation recommends this kind of order")
        if _spine_first(assessment):
            reasons.append("SPINE_FIRST")
        if reasons:
            notes.append(_note(order, reasons))
        else:
            concerned.append(order)
    patient: list[str] = []
    if not (_true(assessment, "HIP_PATH") or _true(assessment, "HIP_SIGNS")):
        patient.append("neither HIP_PATH nor HIP_SIGNS true")
    if assessment.category in HIP_DONE_CATEGORIES:
        patient.append(f"category {assessment.category.value}")
    if concerned and patient:
        notes += [_note(order, patient) for order in concerned]
        concerned = []
    return Decision(tuple(concerned), tuple(notes))


def answer_without_chart(
    orders: Sequence[LumbarOrder], hook_instance: str = ""
) -> dict[str, Any] | None:
    """The answer when the chart cannot be had, or ``None`` when it is needed (then 412).

    clinical-spec.md §6.3 step 1 (E4-1, §0.3): an order whose priority is urgent/asap/stat, or
    whose reason is a red flag, stays silent *whatever the evaluation says*. When every order
    of the call is silenced that way the answer is ``{"cards": []}`` with or without the
    chart, so an unobtainable chart must not turn it into a 412 (an error the EHR shows on
    the signing of a STAT order, standards.md §4: "Could not get a response"). It is no card
    saying the chart could not be read either: §6.3 says silent for these orders, and a
    technical failure is never a card (standards.md, CDS Hooks 2.0 errors). Only the reasons
    are logged (Q4-32g; the audit record needs an evaluation, and there is none)."""
    if not orders or any(not order.silenced for order in orders):
        return None
    notes = [_note(order, order.silenced) for order in orders]
    hook_notes(Decision((), tuple(notes)), hook_instance)
    return {"cards": []}


def _note(order: LumbarOrder, reasons: Sequence[str]) -> str:
    who = order.reference or "a ServiceRequest without id"
    return f"order hook silent for {who} ({order.kind}): {'; '.join(reasons)}"


def hook_notes(decision: Decision, hook_instance: str = "") -> list[str]:
    """The audit-record notes of one hook call (Q4-32g), the silences also logged as reasons.

    The card's uuid is named, so that feedback on it (an override reason) is found with the
    evaluation it answers."""
    for note in decision.notes:
        reason = note.split("): ", 1)[-1]
        log.info("order hook silent", extra={"reason": reason})  # no order id, no patient
    notes = list(decision.notes)
    if decision.concerned:
        refs = ", ".join(o.reference or "a ServiceRequest without id" for o in decision.concerned)
        uuid = card_uuid(hook_instance, CARD_POSITION)
        notes.append(f"order hook card {uuid} for {refs}")
    return notes


# -- the card (§6.3 step 3) ---------------------------------------------------------------------


def hip_directed(assessment: Assessment) -> list[Recommendation]:
    return [
        r
        for r in assessment.recommendations
        if r.hip_directed or r.code in advice.HIP_DIRECTED_CODES
    ]


def indicator(assessment: Assessment) -> str:
    """``warning`` for a category that points at the hip, else ``info``; ``info`` while the
    red-flag screen is not complete (Q10-07)."""
    if assessment.category not in HIP_CATEGORIES:
        return "info"
    return "warning" if _true(assessment, "RED_FLAG_SCREEN_COMPLETE") else "info"


def order_cards(
    assessment: Assessment,
    orders: Sequence[LumbarOrder],
    *,
    hook_instance: str,
    patient_id: str,
    base_url: str = "",
) -> list[dict[str, Any]]:
    """The answer's cards: none, or one card for the orders it concerns (§6.3, Q4-32d)."""
    decision = decide(assessment, orders)
    if not decision.concerned:
        return []
    return [_card(assessment, decision.concerned, hook_instance, patient_id, base_url)]


def _card(
    assessment: Assessment,
    orders: Sequence[LumbarOrder],
    hook_instance: str,
    patient_id: str,
    base_url: str,
) -> dict[str, Any]:
    recs = hip_directed(assessment)
    listed = "; ".join(
        f"{md(o.display)} ({md(o.reference or 'ServiceRequest without id')})" for o in orders
    )
    head = [f"**Lumbar order{'s' if len(orders) > 1 else ''}**: {listed}"]
    if assessment.lead.strip():
        head += ["", md(assessment.lead)]
    text = "\n".join(head)
    for short in (False, True):  # the instructions stay in the suggestions when too long
        plan = ["", "**Hip-directed plan**", "", *plan_lines(recs, base_url, short=short)]
        text = "\n".join(head + (plan if recs else []))
        if len(text) <= DETAIL_MAX:
            break
    card: dict[str, Any] = {
        "uuid": card_uuid(hook_instance, CARD_POSITION),
        "summary": SUMMARY,
        "detail": truncate(text),
        "indicator": indicator(assessment),
        "source": source(assessment, base_url),
        "overrideReasons": order_override_reasons(),
    }
    if recs:
        card["selectionBehavior"] = "any"
        card["suggestions"] = suggestions(assessment, hook_instance, patient_id)
    card_links = links(assessment, base_url, recs)
    if card_links:
        card["links"] = card_links
    return card


def suggestions(
    assessment: Assessment, hook_instance: str, patient_id: str
) -> list[dict[str, Any]]:
    """The card's suggestions: one ``create`` per hip-directed recommendation."""
    return [
        _suggestion(rec, i, hook_instance, patient_id)
        for i, rec in enumerate(hip_directed(assessment))
    ]


def _suggestion(rec: Recommendation, i: int, hook_instance: str, patient_id: str) -> dict[str, Any]:
    """A ``create`` of a draft ServiceRequest for one hip-directed recommendation."""
    uuid = card_uuid(hook_instance, f"{CARD_POSITION}/suggestion-{i}")
    coding: dict[str, str] = {"system": HSC_SYSTEM, "code": rec.code}
    if rec.display:
        coding["display"] = rec.display
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [suggestion_identifier(uuid)],
        "status": "draft",
        "intent": "proposal",
        "code": {
            "coding": [coding, *ORDER_CODES.get(rec.code, ())],
            "text": rec.display or rec.code,
        },
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    text = rec.instruction.strip()
    if text:
        request["note"] = [{"text": text}]
    label = f"Add a draft order: {rec.display or rec.code}"
    sides = " and ".join(s.value for s in rec.sides)
    if sides:
        label += f" ({sides})"
    return {
        "label": label,
        "uuid": uuid,
        "actions": [
            {
                "type": "create",
                "description": f"Create a draft order: {rec.display or rec.code}",
                "resource": request,
            }
        ],
    }
