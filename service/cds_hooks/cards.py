"""Pure ``Assessment -> cards`` for patient-view (standards.md §1.5; clinical-spec.md §6.1).

No Flask, no I/O: equal inputs give equal cards. Card and suggestion uuids are uuid5 of the
``hookInstance`` and the position, so they are unique per response and stable on a retry.

The card opens with the §6.1 lead sentence and the plan with its sides (E4-19, E4-18); the
reasoning comes last, under a "Reasoning" heading, short, naming findings and their values and
never an Observation id. Why a heading and not a ``<details>`` block: CDS Hooks 2.0 specifies
GitHub-flavoured Markdown for ``detail``, and EHRs commonly escape or strip raw HTML (this
service escapes ``<`` itself), so ``<details>`` would show as literal tags; the public CDS Hooks
sandbox renders a plain Markdown heading and list as expected, and a reasoning section placed
last stays out of the way of the lines a clinician reads first. Every link is absolute, to
``{PUBLIC_BASE_URL}/rules`` or one of its anchors (§6.2); the detail of a card stays under
:data:`DETAIL_MAX` characters.

The suggested CarePlan is the CarePlan the pipeline built and recorded
(``service.fhir.outputs.care_plan``), marked with the suggestion identifier (Q4-32e) and without
the references to the ClinicalImpression, which the EHR does not hold.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from service.core.assessment import Assessment, Category, Recommendation
from service.core.findings import Side
from service.core.tri import Tri
from service.fhir.profiles import HSC_SYSTEM as HSC

OVERRIDE_REASONS = "http://hipspine-cds.org/fhir/CodeSystem/hsc-cds-override-reason"
#: Q4-32e: the identifier system of every resource the service suggests.
SUGGESTION_SYSTEM = "http://hipspine-cds.org/fhir/sid/suggestion"
SOURCE_LABEL = "hipspine-cds: hip–spine syndrome rules"
SUMMARY_MAX = 139  # "<140 characters" (standards.md §1.5)
DETAIL_MAX = 1499  # issue 10 item 7: the detail of every example's card under 1,500 characters
_UUID_NAMESPACE = uuid.UUID("6f1f5d3e-3c1b-5d2a-9a53-8c1b1e6f0a42")
_RESOURCE_ID = re.compile(
    r"\s*\(?\b(?:Observation|Condition|Procedure|Patient|ServiceRequest)/[A-Za-z0-9\-.]+\)?"
)

#: §6.3 / Q4-32f: the order hooks' override reasons (HSC Codings with the §6.3 displays).
ORDER_OVERRIDE_REASONS: tuple[tuple[str, str], ...] = (
    ("override-urgent-indication", "Urgent or red-flag indication"),
    ("override-hip-assessed", "Hip already assessed"),
    ("override-imaging-other-reason", "Imaging needed for another reason"),
    ("override-patient-preference", "Patient preference"),
)

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
#: Flags that only restate another (left out of the short reasoning).
_QUIET_FLAGS = frozenset({"ANY_PAIN"})
#: Pain flags: listed after the signs in the short reasoning (the lead names the pain).
_PAIN_FLAGS = frozenset({"LBP", "GROIN_PAIN"})


def card_uuid(hook_instance: str, position: str) -> str:
    """A uuid for the card or suggestion at ``position`` in the answer to ``hook_instance``."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{hook_instance}|{position}"))


def suggestion_identifier(value: str) -> dict[str, str]:
    """The identifier that marks a resource as suggested by this service (Q4-32e)."""
    return {"system": SUGGESTION_SYSTEM, "value": f"urn:uuid:{value}"}


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


def truncate(text: str, limit: int = DETAIL_MAX) -> str:
    """Multi-line ``text`` cut to ``limit`` characters at a line end when it is longer."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if "\n" in cut:
        cut = cut[: cut.rindex("\n")]
    return cut.rstrip() + "…"


_URL_LIKE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def md(text: str) -> str:
    """Text safe inside GitHub-Flavoured Markdown: one line, markup characters escaped, and
    URL-like words (a code system, ``system|code``) in a code span, so that no renderer turns
    them into links to pages that may not answer (§6.2: every link answers)."""
    line = " ".join(str(text).split())
    out: list[str] = []
    at = 0
    for match in _URL_LIKE.finditer(line):
        out.append(_escape(line[at : match.start()]))
        out.append(f"`{match.group().replace('`', '')}`")
        at = match.end()
    out.append(_escape(line[at:]))
    return "".join(out)


def _escape(text: str) -> str:
    for ch in "\\`*_[]<>|":
        text = text.replace(ch, "\\" + ch)
    return text


def without_ids(text: str) -> str:
    """``text`` without resource ids such as ``(Observation/abc)`` (§6.1: never in the card)."""
    return " ".join(_RESOURCE_ID.sub("", text).split())


_NAMED_ID = re.compile(
    r"\b(Observation|Condition|Procedure|Patient|ServiceRequest)/[A-Za-z0-9\-.]+"
)


def ids_in_words(text: str) -> str:
    """``text`` with each resource id replaced by its type in words (``an Observation``)."""
    return _NAMED_ID.sub(lambda m: f"{'an' if m[1][0] in 'AEIOU' else 'a'} {m[1]}", text)


def rules_url(base_url: str, anchor: str = "") -> str | None:
    """``{PUBLIC_BASE_URL}/rules`` (``#anchor``), or None when the base is not absolute (§6.2)."""
    base = base_url.rstrip("/")
    if not base.startswith(("https://", "http://")):
        return None
    return f"{base}/rules#{anchor}" if anchor else f"{base}/rules"


def source(assessment: Assessment, base_url: str = "") -> dict[str, Any]:
    src: dict[str, Any] = {
        "label": SOURCE_LABEL,
        "topic": {"system": HSC, "code": assessment.category.value},
    }
    url = rules_url(base_url)
    if url is not None:
        src["url"] = url
    display = category_display(assessment)
    if display:
        src["topic"]["display"] = display
    return src


def links(
    assessment: Assessment,
    base_url: str,
    recs: Iterable[Recommendation] = (),
    *,
    rule: bool = False,
) -> list[dict[str, Any]]:
    """The rules page, the deciding rule's anchor (``rule``) and the anchor of each
    recommendation in ``recs`` (§6.2), absolute; none when the base URL is not absolute."""
    url = rules_url(base_url)
    if url is None:
        return []
    version = assessment.rule_set.version
    out = [{"label": f"Hip–spine rules {version}".strip(), "url": url, "type": "absolute"}]
    wanted: list[tuple[str, str]] = []
    if rule and assessment.rule:
        wanted.append((f"Why: rule {assessment.rule}", assessment.rule.lower()))
    wanted += [(rec.display or rec.code, rec.anchor) for rec in recs]
    for label, anchor in wanted:
        out.append({"label": label, "url": f"{url}#{anchor}", "type": "absolute"})
    return out


#: The console's SMART launch route (service.http.smart); the EHR appends iss and launch.
LAUNCH_PATH = "/console/launch"
SMART_LINK_LABEL = "Why and what if: open the hip–spine console"


def smart_link(base_url: str) -> dict[str, Any] | None:
    """A CDS Hooks Link of type ``smart`` to ``{PUBLIC_BASE_URL}/console/launch`` (the EHR
    launches it with ``iss`` and ``launch``); None when the base URL is not absolute."""
    base = base_url.rstrip("/")
    if not base.startswith(("https://", "http://")):
        return None
    return {"label": SMART_LINK_LABEL, "url": f"{base}{LAUNCH_PATH}", "type": "smart"}


def override_reasons() -> list[dict[str, str]]:
    return [
        {"system": OVERRIDE_REASONS, "code": "already-addressed", "display": "Already addressed"},
        {"system": OVERRIDE_REASONS, "code": "not-applicable", "display": "Not applicable"},
        {"system": OVERRIDE_REASONS, "code": "disagree", "display": "Disagree with the rules"},
    ]


def order_override_reasons() -> list[dict[str, str]]:
    """§6.3 / Q4-32f: ``overrideReasons`` of the order-hook card (CDS Hooks 2.0 Codings)."""
    return [{"system": HSC, "code": c, "display": d} for c, d in ORDER_OVERRIDE_REASONS]


def offered_override_reason(code: object, system: object = None) -> dict[str, str] | None:
    """The full Coding of an override reason this service offers, from its code (and system,
    when the client sent one), else None."""
    for coding in (*order_override_reasons(), *override_reasons()):
        if coding["code"] == code and system in (None, coding["system"]):
            return coding
    return None


# -- the plan -------------------------------------------------------------------------------------


def side_words(rec: Recommendation) -> str:
    """The side(s) of a hip-directed recommendation in words (§5.4), else ""."""
    sides = [s for s in (Side.LEFT, Side.RIGHT) if s in rec.sides]
    if len(sides) == 2:
        return "both hips"
    if sides:
        return f"{sides[0].value} hip"
    return "side not recorded" if rec.hip_directed else ""


def plan_line(rec: Recommendation, base_url: str, *, short: bool = False) -> str:
    """One Markdown bullet: the display (linked to its rules-page anchor), side, instruction."""
    name = md(rec.display or rec.code)
    url = rules_url(base_url, rec.anchor)
    head = f"[{name}]({url})" if url is not None else f"**{name}**"
    sides = side_words(rec)
    if sides:
        head += f" ({md(sides)})"
    text = rec.instruction.strip()
    if text and not short:
        return f"- {head}: {md(text)}"
    return f"- {head}"


def plan_lines(recs: Sequence[Recommendation], base_url: str, *, short: bool = False) -> list[str]:
    return [plan_line(r, base_url, short=short) for r in recs]


# -- the patient-view card --------------------------------------------------------------------


def reasoning(assessment: Assessment) -> list[str]:
    """The short reasoning: the deciding rule with the values it read, then each true flag with
    the finding values behind it (flag names allowed here, §6.1), without resource ids."""
    used = [s.basis.split(": ", 1)[-1] for s in assessment.trace if s.rule == assessment.rule]
    rule = f"- Rule {md(assessment.rule)}"
    lines = [rule + (f": {md(without_ids(used[0]))}" if used else "")]
    true = [(n, f) for n, f in assessment.flags.items() if f.value is Tri.TRUE]
    true.sort(key=lambda item: item[0] in _PAIN_FLAGS)  # the signs first, then the pain
    for name, flag in true:
        if name not in _QUIET_FLAGS:
            basis = without_ids(flag.basis)
            lines.append(f"- {md(name)}: {md(basis)}" if basis else f"- {md(name)}")
    return lines


def _lead(assessment: Assessment) -> str:
    return assessment.lead.strip() or assessment.summary.strip()


def summary(assessment: Assessment) -> str:
    """The lead's first sentence (§6.1), clipped below 140 characters."""
    lead = assessment.lead.strip()
    if lead:
        first = re.split(r"(?<=[.!?])\s+", lead, maxsplit=1)[0]
        return clip(first)
    text = f"Hip–spine: {category_display(assessment)}"
    if assessment.recommendations:
        first_rec = assessment.recommendations[0]
        text += f" — {first_rec.display or first_rec.code}"
    return clip(text)


def detail(assessment: Assessment, warnings: Sequence[str], base_url: str = "") -> str:
    """The card's Markdown: lead, plan with sides, missing, warnings, then the reasoning.

    Kept under :data:`DETAIL_MAX`: when too long, the reasoning is cut first (to the deciding
    rule and one finding), then the missing list is clipped, then the plan lines lose their
    instruction (it stays in the CarePlan), then the reasoning keeps the rule alone.
    """
    for short_plan, reasons, missing in (
        (False, None, 300),
        (False, 4, 300),
        (False, 2, 300),
        (False, 2, 120),
        (True, 2, 120),
        (True, 1, 120),
    ):
        text = _detail(assessment, warnings, base_url, short_plan, reasons, missing)
        if len(text) <= DETAIL_MAX:
            return text
    return truncate(text)


def _detail(
    assessment: Assessment,
    warnings: Sequence[str],
    base_url: str,
    short_plan: bool,
    max_reasons: int | None,
    missing_max: int,
) -> str:
    lines: list[str] = []
    lead = _lead(assessment)
    if lead:
        lines.append(md(lead))
    if assessment.recommendations:
        lines += ["", "**Plan**", ""]
        lines += plan_lines(assessment.recommendations, base_url, short=short_plan)
    if assessment.missing:
        lines += ["", f"**Missing**: {md(clip('; '.join(assessment.missing), missing_max))}"]
    notes = [*assessment.data_quality, *warnings]
    if notes:
        shown = [f"- {md(clip(ids_in_words(n), 160))}" for n in notes[:3]]
        if len(notes) > 3:
            shown.append(f"- and {len(notes) - 3} more (see the ClinicalImpression notes)")
        lines += ["", "**Warnings**", "", *shown]
    steps = reasoning(assessment)
    if max_reasons is not None:
        steps = steps[:max_reasons]
    if steps:
        lines += ["", "**Reasoning**", "", *steps]
    url = rules_url(base_url)
    version = md(assessment.rule_set.version)
    rule_set = f"[Hip–spine rules {version}]({url})" if url else f"Hip–spine rules {version}"
    lines += ["", f"{rule_set}. Decision support, not a diagnosis."]
    return "\n".join(lines)


def suggested_care_plan(recorded: Mapping[str, Any], suggestion_uuid: str) -> dict[str, Any]:
    """The recorded CarePlan as a suggestion: marked (Q4-32e), without references to the
    ClinicalImpression (which the EHR does not hold)."""
    plan: dict[str, Any] = _json_copy(dict(recorded))
    plan["identifier"] = [*plan.get("identifier", ()), suggestion_identifier(suggestion_uuid)]
    support = [r for r in plan.get("supportingInfo", ()) if not _to_impression(r)]
    if support:
        plan["supportingInfo"] = support
    else:
        plan.pop("supportingInfo", None)
    for activity in plan.get("activity", ()):
        detail_ = activity.get("detail")
        if isinstance(detail_, dict) and "reasonReference" in detail_:
            refs = [r for r in detail_["reasonReference"] if not _to_impression(r)]
            if refs:
                detail_["reasonReference"] = refs
            else:
                del detail_["reasonReference"]
    return plan


def _json_copy(value: Any) -> Any:
    """A copy of a JSON tree (dicts and lists copied, leaves shared: they are immutable):
    what ``copy.deepcopy`` gives for JSON, at a fraction of its cost (no memo, no dispatch)."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_copy(v) for v in value]
    return value


def _to_impression(ref: Any) -> bool:
    """A reference the EHR cannot resolve: the ClinicalImpression, by id or as a Bundle-local
    ``urn:uuid`` (it lives in the service's output Bundle and audit record only)."""
    return isinstance(ref, Mapping) and str(ref.get("reference", "")).startswith(
        ("ClinicalImpression/", "urn:uuid:")
    )


def patient_view_cards(
    assessment: Assessment,
    *,
    patient_id: str,
    hook_instance: str,
    relevant_count: int,
    warnings: Sequence[str] = (),
    care_plan: Mapping[str, Any] | None = None,
    base_url: str = "",
    smart_launch: bool = False,
) -> list[dict[str, Any]]:
    """The patient-view answer: one card, or none when the chart has nothing to say.

    ``smart_launch`` (the console and SMART_CLIENT_ID are configured) adds a ``smart`` link to
    the console's launch URL, so the clinician goes from the card to the reasoning in one click.

    No card when no input the rules use is present (``relevant_count == 0``) or the category
    is NO_FINDINGS: a hip–spine card on every chart would be noise (issue 3). ``care_plan`` is
    the CarePlan the pipeline recorded for this evaluation; it becomes the card's suggestion.
    """
    if relevant_count == 0 or assessment.category is Category.NO_FINDINGS:
        return []
    card: dict[str, Any] = {
        "uuid": card_uuid(hook_instance, "card-0"),
        "summary": summary(assessment),
        "detail": detail(assessment, warnings, base_url),
        "indicator": indicator(assessment.category),
        "source": source(assessment, base_url),
        "overrideReasons": override_reasons(),
    }
    if assessment.recommendations and care_plan is not None:
        suggestion = card_uuid(hook_instance, "card-0/suggestion-0")
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [
            {
                "label": "Add the proposed hip–spine care plan (draft)",
                "uuid": suggestion,
                "isRecommended": True,
                "actions": [
                    {
                        "type": "create",
                        "description": "Create a draft CarePlan with the recommendations",
                        "resource": suggested_care_plan(care_plan, suggestion),
                    }
                ],
            }
        ]
    card_links = links(assessment, base_url, assessment.recommendations, rule=True)
    launch = smart_link(base_url) if smart_launch else None
    if launch is not None:
        card_links.insert(0, launch)
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
