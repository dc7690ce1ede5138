"""The words a clinician reads first (clinical-spec.md §6.1; E4-19, E4-24, E4-26, Q4-44):
the lead sentence, the plain-words summary, the review period. Deterministic.

No flag name, rule id or Observation id appears here: they belong in the trace (``--trace``,
``finding.basis``, the card's collapsed reasoning).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from service.core.advice import (
    CARE_CODES,
    COLLECT_MISSING,
    COMBINED_MANAGEMENT,
    GLUTEAL_CARE,
    HIP_FIRST_LINE,
    HIP_IMAGING_URGENT,
    HIP_XRAY,
    IA_HIP_INJECTION,
    LBP_FIRST_LINE,
    MRI_LUMBAR,
    MRI_LUMBAR_URGENT,
    ORTHO_HIP_REFERRAL,
    RED_FLAG_SCREEN,
    REVIEW_CODES,
    SIJ_WORKUP,
    SPINE_REFERRAL,
    URGENT_EVALUATION,
)
from service.core.assessment import Assessment, Category, Conclusion, Flag, Recommendation, Subtype
from service.core.conclusions import CATEGORY_DISPLAY, EMERGENCY_WORDS
from service.core.findings import (
    Findings,
    Motion,
    PainSite,
    Side,
    SidedTest,
    TestResult,
    TreatmentKind,
)
from service.core.rec_facts import Facts, hip_words
from service.core.thresholds import (
    MIC_NRS_PCT,
    MIC_NRS_POINTS,
    MIC_ODI_PCT,
    MIC_ODI_POINTS,
    REVIEW_WEEKS,
)
from service.core.tri import is_true
from service.core.wording import number

SUCCESS_CRITERION = (
    f"NRS −{number(MIC_NRS_POINTS)} points or −{number(MIC_NRS_PCT)} %; "
    f"ODI −{number(MIC_ODI_POINTS)} points or −{number(MIC_ODI_PCT)} %"
)
#: §5.1: NO_FINDINGS says why no plan is given, in words that fit the finding.
NO_FINDINGS_WORDS = f"{CATEGORY_DISPLAY[Category.NO_FINDINGS]}."
DISCLAIMER = "Decision support, not a diagnosis."
GLUTEAL_REVIEW_WEEKS = 8  # Q4-42: gluteal-tendinopathy care alone: its 8-week programme
_CLASSIFICATION_KINDS = ("diebo", "hip-spine-class", "schwab-pill", "schwab-pt", "schwab-sva")


def review_weeks(
    recommendations: tuple[Recommendation, ...], weeks: int = int(REVIEW_WEEKS)
) -> int | None:
    """§5.2 "Review", Q4-42: 6 weeks with a programme or care code; 8 when gluteal-tendinopathy
    care is the only one; None without any."""
    codes = {r.code for r in recommendations} & REVIEW_CODES
    if not codes:
        return None
    return GLUTEAL_REVIEW_WEEKS if codes == {GLUTEAL_CARE} else weeks


# --- the lead (Q4-44) ---------------------------------------------------------------------------


def _painful_replacement(hip: str, text: str) -> str:
    """Q10-06: the lead says why a replaced hip is referred (the category's words may deny hip
    involvement): "the left hip (painful hip replacement)"."""
    if "Painful hip replacement" not in text:
        return hip
    if hip.endswith(")"):
        return f"{hip[:-1]}; painful hip replacement)"
    return f"{hip} (painful hip replacement)"


def _step(r: Recommendation, emergency: bool) -> str:
    """The plan entry in a few plain words for the lead's "Next: …"."""
    hip = hip_words(r.sides)
    text = r.instruction
    steps = {
        URGENT_EVALUATION: "same-day emergency evaluation"
        if emergency
        else "same-day clinical evaluation",
        MRI_LUMBAR_URGENT: ("emergency MRI of the lumbar spine" if emergency else "urgent MRI")
        + (" and the whole spine" if emergency and "whole spine" in text else "")
        + (
            ""
            if emergency
            else " of the whole spine"
            if "whole spine" in text
            else " of the lumbar spine"
        ),
        HIP_IMAGING_URGENT: f"urgent radiographs of {hip}",
        RED_FLAG_SCREEN: "complete the red-flag screen",
        HIP_XRAY: f"radiographs of {hip}",
        IA_HIP_INJECTION: "a diagnostic injection of each hip, one at a time"
        if len(r.sides) == 2
        else f"a diagnostic injection of {hip}",
        ORTHO_HIP_REFERRAL: ("an urgent " if text.count("Urgent") else "an ")
        + f"orthopaedic referral for {_painful_replacement(hip, text)}",
        MRI_LUMBAR: "a lumbar MRI",
        SPINE_REFERRAL: "a spine specialist referral",
        COMBINED_MANAGEMENT: "a combined hip–lumbar physiotherapy programme"
        + (" without hip mobilisation" if "no hip joint mobilisation" in text else ""),
        GLUTEAL_CARE: f"education and loading exercise for the lateral hip pain of {hip}",
        HIP_FIRST_LINE: f"first-line care for {hip}",
        LBP_FIRST_LINE: "a combined physical and psychological programme"
        if "psychological" in text
        else "first-line low back pain care",
        SIJ_WORKUP: "a sacroiliac joint assessment",
        COLLECT_MISSING: "record the missing findings",
    }
    return steps.get(r.code, r.display)


def _pain(f: Findings, site: PainSite) -> str:
    values = [s.latest.value for s in f.pain if s.site is site and s.readings]
    if not values:
        return ""
    words = {PainSite.LOW_BACK: "low back pain", PainSite.GROIN: "groin pain"}.get(
        site, site.value.removeprefix("site-").replace("-", " ") + " pain"
    )
    return f"{words} {max(values)}/10"


def _extension_words(f: Findings) -> list[str]:
    out = []
    for s in (Side.LEFT, Side.RIGHT):
        tf = f.sided_tests.get((SidedTest.THOMAS, s))
        if tf is not None and tf.result is TestResult.POSITIVE:
            out.append(f"Thomas test positive {s.value}")
        ext = f.rom.get((Motion.EXTENSION, s))
        if ext is not None and ext.value <= 0:
            out.append(f"hip extension {number(ext.value)}° {s.value}")
        angle = f.contracture_angle.get(s)
        if angle is not None and angle.value >= 10:
            out.append(f"flexion contracture {number(angle.value)}° {s.value}")
    return out


LUMBAR_TREATMENT_WORDS = {
    TreatmentKind.LUMBAR_SURGERY: "lumbar surgery",
    TreatmentKind.LUMBAR_INJECTION: "lumbar injection",
}
HIP_TREATMENT_WORDS = {
    TreatmentKind.HIP_ARTHROPLASTY: "hip replacement",
    TreatmentKind.HIP_ARTHROSCOPY: "hip arthroscopy",
    TreatmentKind.HIP_INJECTION_THERAPEUTIC: "therapeutic hip injection",
}


def _treatment_words(f: Findings, words: Mapping[TreatmentKind, str], default: str) -> str:
    found = [w for kind, w in words.items() if any(t.kind is kind for t in f.treatments)]
    return " and the ".join(found) or default


def _relief(extra: Mapping[str, str]) -> str:
    pct = extra.get("ia-relief-pct", "unknown")
    return "" if pct == "unknown" else f"{pct} % relief after the hip injection"


def _plain(category: Category) -> str:
    """The §6.1 category display (Q4-45) without its Offierski & MacNab group."""
    return CATEGORY_DISPLAY[category].split(" (Offierski & MacNab", 1)[0]


def _clause(
    category: Category,
    subtype: Subtype | None,
    facts: Facts,
    flags: Mapping[str, Flag],
    extra: Mapping[str, str],
) -> tuple[str, list[str]]:
    """The conclusion with its side, and the findings that carry it (strongest first)."""
    f = facts.findings
    side = facts.general_sides
    the_hip = hip_words(side) if side else "the hip"
    hip_f = list(facts.hip_findings)
    spine_f = list(facts.spine_findings)
    lbp = _pain(f, PainSite.LOW_BACK)
    # E4-24: "pain persists after the lumbar surgery", never "the treatment failed".
    if category is Category.MISDIAGNOSED_HIP_MISSED:
        after = _treatment_words(f, LUMBAR_TREATMENT_WORDS, "lumbar treatment")
        return f"Pain persists after the {after}; {the_hip} has not been addressed", hip_f
    if category is Category.MISDIAGNOSED_SPINE_MISSED:
        after = _treatment_words(f, HIP_TREATMENT_WORDS, "hip treatment")
        return f"Pain persists after the {after}; the spine has not been addressed", spine_f
    if category is Category.SIMPLE_HIP_PRIMARY:
        return f"{the_hip.capitalize()} is the main pain source", [_relief(extra), *hip_f]
    if category is Category.SIMPLE_SPINE_PRIMARY:
        return _plain(category), [_relief(extra), *spine_f]
    if category is Category.INDETERMINATE_NOT_HIP:
        return _plain(category), [_relief(extra)]
    if category is Category.SECONDARY:
        carried = hip_f
        if subtype is Subtype.STRUCTURAL:
            carried = _extension_words(f) + hip_f
            if not carried and extra.get("diebo") == "diebo-hip-spine":
                carried = ["hip osteoarthritis with spinal malalignment (Diebo hip–spine)"]
        pain = "the low back pain" if lbp else "the back pain"
        return f"{the_hip.capitalize()} may be contributing to {pain}", carried
    if category is Category.COMPLEX:
        return (
            f"{the_hip.capitalize()} and the spine are possible pain sources",
            hip_f[:1] + spine_f[:1] + hip_f[1:] + spine_f[1:],
        )
    if category is Category.NOT_HSS_SPINE:
        return _plain(category), [*spine_f, lbp]
    if category is Category.NOT_HSS_HIP:
        if not hip_f and facts.trochanter_sides:
            where = hip_words(facts.trochanter_sides)
            return (
                f"Lateral pain of {where} (possible gluteal tendinopathy); "
                "no back involvement found",
                ["greater-trochanter palpation painful"],
            )
        if side:
            return f"A problem of {the_hip}; no back involvement found", hip_f
        return _plain(category), hip_f
    return _plain(category), []  # NO_FINDINGS, INSUFFICIENT_DATA (and RED_FLAG: never asked)


def lead(
    category: Category,
    subtype: Subtype | None,
    facts: Facts,
    flags: Mapping[str, Flag],
    recommendations: tuple[Recommendation, ...],
    extra: Mapping[str, str],
    weeks: int | None,
) -> str:
    """§6.1, Q4-44, Q10-02: the conclusion with its side and the one or two findings that carry
    it, then "Next: …"; two sentences at most; no flag names, rule ids or Observation ids."""
    emergency = (
        is_true(flags["RED_FLAG_EMERGENCY"].value) if "RED_FLAG_EMERGENCY" in flags else False
    )
    if category is Category.RED_FLAG:
        if emergency:
            first = f"{EMERGENCY_WORDS}: {'; '.join(facts.emergency_items) or 'emergency red flag'}"
        else:
            parts = []
            if facts.hip_items:  # E4-2: the hip kind first, with its side (Q4-18)
                where = hip_words(facts.red_flag_hip_sides) if facts.red_flag_hip_sides else ""
                hip = "; ".join(facts.hip_items)
                parts.append(f"{hip} ({where})" if where else hip)
            if facts.other_spine_items:  # the fragility words are among them (Q10-08)
                parts.append(
                    f"possible serious spinal pathology ({', '.join(facts.other_spine_items)})"
                )
            first = f"Urgent: {'; '.join(parts) or 'possible serious pathology'}"
    else:
        clause, carried = _clause(category, subtype, facts, flags, extra)
        shown = [c for c in carried if c][:2]
        first = f"{clause} ({'; '.join(shown)})" if shown else clause
    steps = [_step(r, emergency) for r in recommendations]
    if weeks is not None:
        steps.append(f"re-assess in {weeks} weeks")
    if not steps:
        return f"{first}."
    return f"{first}. Next: {'; '.join(steps)}."


# --- the summary ----------------------------------------------------------------------------------


_RESOURCE_ID = re.compile(r" \((?:Observation|Condition|Procedure|Patient)/[^)]*\)")


def _without_ids(text: str) -> str:
    """§6.1: resource ids belong in the trace (the warning itself keeps them)."""
    return _RESOURCE_ID.sub("", text)


def _sentence(label: str, items: list[str] | tuple[str, ...], sep: str = ", ") -> str:
    return f"{label}: {sep.join(items)}." if items else ""


def summarise(
    lead_text: str,
    category: Category,
    conclusions: tuple[Conclusion, ...],
    recommendations: tuple[Recommendation, ...],
    missing: tuple[str, ...],
    data_quality: tuple[str, ...],
    pain: tuple[str, ...],
    weeks: int | None,
    not_computed: tuple[str, ...] = (),
) -> str:
    """§6.1: the lead first; then the plan (each instruction, in order), safety notes, pain,
    classifications, what is missing (most important first, E4-26), data quality, the review
    and success criterion (E4-17). Plain words only."""
    parts = [lead_text]
    if category is Category.RED_FLAG:
        parts.append("Do not delay the work-up for hip–spine reasoning.")
    if recommendations:
        plan = [f"({i}) {r.display}: {r.instruction}" for i, r in enumerate(recommendations, 1)]
        parts.append("Plan: " + " ".join(plan))
    elif category is Category.NO_FINDINGS and not lead_text.startswith(NO_FINDINGS_WORDS[:-1]):
        parts.append(NO_FINDINGS_WORDS)
    parts.append(
        _sentence("Notes", [c.display for c in conclusions if c.kind == "safety-note"], "; ")
    )
    parts.append(_sentence("Pain", list(pain), "; "))
    parts.append(
        _sentence(
            "Classifications", [c.display for c in conclusions if c.kind in _CLASSIFICATION_KINDS]
        )
    )
    parts.append(_sentence("Priority", [c.display for c in conclusions if c.kind == "priority"]))
    parts.append(_sentence("Missing", list(missing), "; "))
    # §6: a classification left out names its inputs; after "Missing", which lists only what
    # would change the conclusion (Q4-40).
    parts.append(_sentence("Not computed", [m for m in not_computed if m not in missing], "; "))
    parts.append(_sentence("Data quality", [_without_ids(d) for d in data_quality], "; "))
    if weeks is not None:
        parts.append(
            f"Re-assess in {weeks} weeks; follow-up success criterion: {SUCCESS_CRITERION}."
        )
    else:
        parts.append(f"Follow-up success criterion: {SUCCESS_CRITERION}.")
    parts.append(DISCLAIMER)
    return " ".join(p for p in parts if p)


__all__ = [
    "CARE_CODES",
    "DISCLAIMER",
    "NO_FINDINGS_WORDS",
    "SUCCESS_CRITERION",
    "lead",
    "render_text",
    "review_weeks",
    "summarise",
]


def render_text(assessment: Assessment, warnings: tuple[str, ...] = (), trace: bool = False) -> str:
    """The CLI's ``--summary`` (§6.1, issue 10 item 3): the lead, the plan with sides, what is
    missing, notes and warnings, the review; ``--trace`` adds the flag-by-flag reasoning (the
    only place where flag names, rule ids and Observation ids appear)."""
    a = assessment
    lines = [a.lead or a.summary, ""]
    if a.recommendations:
        lines.append("Plan:")
        for i, r in enumerate(a.recommendations, 1):
            lines.append(f"  {i}. {r.display}: {r.instruction}")
    elif a.category is Category.NO_FINDINGS:
        lines.append(NO_FINDINGS_WORDS)
    notes = [c.display for c in a.conclusions if c.kind == "safety-note"]
    if notes:
        lines += ["", "Notes:", *(f"  - {n}" for n in notes)]
    if a.missing:
        lines += ["", "Missing (most important first):", *(f"  - {m}" for m in a.missing)]
    doubtful = [*a.data_quality, *warnings]
    if doubtful:
        lines += ["", "Warnings (inputs not used or doubtful):", *(f"  - {w}" for w in doubtful)]
    lines.append("")
    if a.review_weeks is not None:
        lines.append(
            f"Re-assess in {a.review_weeks} weeks; follow-up success criterion: "
            f"{SUCCESS_CRITERION}."
        )
    else:
        lines.append(f"Follow-up success criterion: {SUCCESS_CRITERION}.")
    lines.append(DISCLAIMER)
    if trace:
        category = a.category.name + (f" ({a.subtype.name})" if a.subtype else "")
        lines += [
            "",
            "Trace:",
            f"Category: {category}",
            f"Decided by: rule {a.rule} of {a.rule_set.canonical}",
        ]
        shown: set[str] = set()
        for c in a.conclusions:
            basis = "(as above)" if c.basis in shown else c.basis
            shown.add(c.basis)
            lines.append(f"  {c.kind} {c.code}: {basis}")
        lines += [f"  {s.rule}: {s.verdict} ({s.basis})" for s in a.trace]
    return "\n".join(lines)
