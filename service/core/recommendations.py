"""Recommendations (clinical-spec.md §5, fourth edition): the category rows of §5.1, the rules
added to any category, the plan order of §5.3, the sides of §5.4 and the §5.2 instructions.

Codes, displays and instruction templates come from :mod:`service.core.advice` (the single
definition). What the rules read about the patient beyond the §2 flags (sides, red-flag items,
precautions) is in :mod:`service.core.rec_facts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from service.core import advice
from service.core.advice import (
    CARE_CODES,
    CATALOGUE,
    COLLECT_MISSING,
    COMBINED_MANAGEMENT,
    GLUTEAL_CARE,
    HIP_FIRST_LINE,
    HIP_IMAGING_URGENT,
    HIP_XRAY,
    IA_HIP_INJECTION,
    LBP_FIRST_LINE,
    LUMBAR_BLOCK,
    MRI_LUMBAR,
    MRI_LUMBAR_URGENT,
    ORTHO_HIP_REFERRAL,
    RED_FLAG_SCREEN,
    RETIRED_CODES,
    SIJ_WORKUP,
    SPINE_REFERRAL,
    SPINOPELVIC,
    URGENT_EVALUATION,
    certainty_words,
)
from service.core.assessment import Category, Flag, Recommendation, Subtype
from service.core.evidence import sides_in_order
from service.core.findings import Findings, Side
from service.core.measures import KlMax
from service.core.rec_facts import Facts, facts_of, flag_words, hip_words
from service.core.thresholds import Thresholds
from service.core.tri import Tri, is_true, known_false, not_true

__all__ = [
    "COLLECT_MISSING",
    "COMBINED_MANAGEMENT",
    "DISPLAY",
    "GLUTEAL_CARE",
    "HIP_FIRST_LINE",
    "HIP_IMAGING_URGENT",
    "HIP_XRAY",
    "IA_HIP_INJECTION",
    "LBP_FIRST_LINE",
    "LUMBAR_BLOCK",
    "MRI_LUMBAR",
    "MRI_LUMBAR_URGENT",
    "ORTHO_HIP_REFERRAL",
    "RED_FLAG_SCREEN",
    "SIJ_WORKUP",
    "SPINE_REFERRAL",
    "SPINOPELVIC",
    "URGENT_EVALUATION",
    "RecContext",
    "minimum_set_missing",
    "plan_order",
    "recommend",
]

DISPLAY = advice.DISPLAY


@dataclass(frozen=True)
class RecContext:
    """What the §5 conditions read: the §2 flags, whether KL / IA relief / the Hip-Spine class are
    known, and the patient facts of :mod:`rec_facts` (computed from ``findings`` unless given)."""

    findings: Findings
    flags: Mapping[str, Flag]
    kl: KlMax
    relief_known: bool
    hip_spine_class_known: bool
    thresholds: Thresholds = field(default_factory=Thresholds)
    given_facts: Facts | None = None

    def value(self, name: str) -> Tri:
        flag = self.flags.get(name)
        return flag.value if flag is not None else Tri.UNKNOWN

    def true(self, name: str) -> bool:
        return is_true(self.value(name))

    def not_true(self, name: str) -> bool:
        return not_true(self.value(name))

    def false(self, name: str) -> bool:
        return known_false(self.value(name))

    @property
    def kl_known(self) -> bool:
        return self.kl.value is not None

    @cached_property
    def facts(self) -> Facts:
        if self.given_facts is not None:
            return self.given_facts
        return facts_of(self.findings, self.flags, self.thresholds)

    @property
    def lumbar_imaging_known(self) -> bool:
        """Q10-05, Q11-01: lumbar imaging findings at most 365 days old (untimed: known)."""
        return self.facts.lumbar_imaging_known

    @property
    def mri_indicated(self) -> bool:
        """§5.1 MRI_INDICATED (E4-13, Q10-04, Q10-05): (RADICULAR or myotomal weakness) and no
        lumbar imaging known, deferred only while SHORT_EPISODE is true and MOTOR_DEFICIT is
        known false (an unknown motor examination never defers the MRI)."""
        if not (self.true("RADICULAR") or self.facts.myotomal_weakness):
            return False
        if self.lumbar_imaging_known:
            return False
        return not (self.true("SHORT_EPISODE") and self.false("MOTOR_DEFICIT"))

    @property
    def hip_evidence(self) -> bool:
        return self.true("HIP_PATH") or self.true("HIP_SIGNS")

    @property
    def spine_evidence(self) -> bool:
        return self.true("SPINE_PATH") or self.true("SPINE_SIGNS")


#: The reason of a referral added for a painful replaced hip (Q10-06).
PAINFUL_REPLACEMENT_REASON = "groin pain of a replaced hip (Q10-06)"


# --- the plan under construction ---------------------------------------------------------------


@dataclass
class _Draft:
    code: str
    reasons: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)  # sentences added to the instruction
    variant: str = ""
    missing: tuple[str, ...] = ()
    extra_sides: set[Side] = field(default_factory=set)  # Q10-06: a painful replaced hip


class _Plan:
    """Codes in the order they were added; each code at most once (§5.1)."""

    def __init__(self) -> None:
        self.drafts: dict[str, _Draft] = {}

    def add(self, code: str, reason: str, *, extra: str = "", variant: str = "") -> _Draft:
        # Retired codes are never emitted (E4-14, E4-15).
        assert code not in RETIRED_CODES, code
        draft = self.drafts.setdefault(code, _Draft(code))
        if reason and reason not in draft.reasons:
            draft.reasons.append(reason)
        if extra and extra not in draft.extras:
            draft.extras.append(extra)
        if variant:
            draft.variant = variant
        return draft

    def remove(self, code: str) -> _Draft | None:
        return self.drafts.pop(code, None)

    def __contains__(self, code: str) -> bool:
        return code in self.drafts

    def codes(self) -> list[str]:
        return list(self.drafts)


# --- §5.1 rows ---------------------------------------------------------------------------------


def _mri(p: _Plan, c: RecContext, why: str = "MRI_INDICATED") -> None:
    if c.mri_indicated:
        p.add(MRI_LUMBAR, f"{why}: {c.facts.mri_reason}")


def _sij(p: _Plan, c: RecContext) -> None:
    if c.true("SIJ_SIGNS"):
        # Q10-12: the instruction depends on why SIJ_SIGNS is true.
        p.add(SIJ_WORKUP, "SIJ_SIGNS", variant="" if c.facts.sij_from_cluster else "FABER")


def red_flag(p: _Plan, c: RecContext) -> None:
    """E4-2, E4-3, Q4-09, Q4-41, Q10-02: urgent evaluation; the urgent MRI for an emergency, a
    cancer history, MRC ≤ 3 weakness or ≥ 2 spine red-flag items; urgent hip imaging for a hip
    red flag; nothing else."""
    f = c.facts
    emergency = c.true("RED_FLAG_EMERGENCY")
    why = f"RED_FLAG: {c.flags['RED_FLAG'].basis}" if "RED_FLAG" in c.flags else "RED_FLAG"
    p.add(URGENT_EVALUATION, why, variant="EMERGENCY" if emergency else "")
    # §5.1 row, Q4-09: emergency, cancer history, MRC ≤ 3 weakness or ≥ 2 spine items
    # (red_flags.red_flag_items decides, one source with the flag).
    if emergency or f.urgent_mri:
        variant = "WHOLE_SPINE" if f.cancer else ""
        if emergency:
            variant = "EMERGENCY_WHOLE_SPINE" if f.cancer else "EMERGENCY"
        reason = (
            "RED_FLAG_EMERGENCY"
            if emergency
            else f"RED_FLAG_SPINE items for the urgent MRI: {', '.join(f.spine_items)}"
        )
        p.add(MRI_LUMBAR_URGENT, reason, variant=variant)
    if c.true("RED_FLAG_HIP"):
        p.add(HIP_IMAGING_URGENT, f"RED_FLAG_HIP: {c.flags['RED_FLAG_HIP'].basis}")


def misdiagnosed_hip_missed(p: _Plan, c: RecContext) -> None:
    if not c.kl_known:
        p.add(HIP_XRAY, "KL grade unknown")
    if not c.relief_known and c.not_true("HIP_SEVERE"):
        p.add(IA_HIP_INJECTION, "IA relief unknown and HIP_SEVERE not true")
    if c.true("HIP_SEVERE") or c.true("IA_POS"):
        p.add(ORTHO_HIP_REFERRAL, "HIP_SEVERE or IA_POS")
    elif c.kl_known and c.relief_known:
        p.add(
            ORTHO_HIP_REFERRAL,
            "KL and IA relief both known (a negative injection can be falsely negative after "
            "failed spine surgery) [P, S38]",
        )


def misdiagnosed_spine_missed(p: _Plan, c: RecContext) -> None:
    _mri(p, c)  # Q4-38
    p.add(SPINE_REFERRAL, "pain persists after hip treatment, with spine pathology or signs")


def simple_hip_primary(p: _Plan, c: RecContext) -> None:
    p.add(ORTHO_HIP_REFERRAL, "the hip is the main pain source")
    p.add(COMBINED_MANAGEMENT, "the hip is the main pain source")
    # Q11-03: myotomal weakness (not myelopathy) and no lumbar imaging known.
    if c.facts.myotomal_weakness and not c.lumbar_imaging_known:
        p.add(MRI_LUMBAR, f"myotomal weakness and no lumbar imaging: {c.facts.mri_reason}")


def simple_spine_primary(p: _Plan, c: RecContext) -> None:
    _mri(p, c)
    p.add(SPINE_REFERRAL, "the spine is the main pain source")


def indeterminate_not_hip(p: _Plan, c: RecContext) -> None:
    p.add(LBP_FIRST_LINE, "the hip is unlikely to be the source (E4-21)")
    _mri(p, c)
    _sij(p, c)


def secondary_structural(p: _Plan, c: RecContext) -> None:
    p.add(COMBINED_MANAGEMENT, "secondary (structural)", variant="STRUCTURAL")
    if c.true("HIP_SEVERE"):
        p.add(ORTHO_HIP_REFERRAL, "HIP_SEVERE")
    if c.true("SPINE_SIGNS") and not c.relief_known:
        p.add(IA_HIP_INJECTION, "SPINE_SIGNS and IA relief unknown")


def complex_(p: _Plan, c: RecContext) -> None:
    """E4-14: one invasive diagnostic at a time; the hip injection only while relief is
    unknown (Q4-35), no lumbar block."""
    if not c.relief_known:
        p.add(IA_HIP_INJECTION, "complex: IA relief unknown")
    p.add(COMBINED_MANAGEMENT, "complex: hip and spine both possible sources")
    if not c.kl_known:
        p.add(HIP_XRAY, "KL grade unknown")
    _mri(p, c)


def secondary_hip_driven(p: _Plan, c: RecContext) -> None:
    p.add(COMBINED_MANAGEMENT, "secondary (hip-driven)", variant="HIP_DRIVEN")
    if c.true("HIP_SEVERE"):
        p.add(ORTHO_HIP_REFERRAL, "HIP_SEVERE")


def secondary_functional(p: _Plan, c: RecContext) -> None:
    p.add(COMBINED_MANAGEMENT, "secondary (functional)", variant="FUNCTIONAL")
    if c.true("HIP_PROVOCATIVE") and not c.kl_known:
        p.add(HIP_XRAY, "HIP_PROVOCATIVE and KL grade unknown")


def not_hss_spine(p: _Plan, c: RecContext) -> None:
    p.add(LBP_FIRST_LINE, "spine problem without hip involvement (E4-21)")
    _mri(p, c)
    _sij(p, c)


def not_hss_hip(p: _Plan, c: RecContext) -> None:
    """E4-21; Q4-22: lateral hip pain alone gets only the gluteal care added below."""
    if not c.hip_evidence:
        return
    p.add(HIP_FIRST_LINE, "hip problem without back involvement (E4-21)")
    if not c.kl_known:
        p.add(HIP_XRAY, "KL grade unknown")
    if c.true("HIP_SEVERE") or c.true("IA_POS"):
        p.add(ORTHO_HIP_REFERRAL, "HIP_SEVERE or IA_POS")


def no_findings(p: _Plan, c: RecContext) -> None:
    return None


def minimum_set_missing(c: RecContext) -> tuple[str, ...]:
    """E4-25: the minimum set without lumbar imaging, each missing item named; KL only while
    KL_MAX is unknown and HIP_SIGNS is true; a replaced side is never asked for (Q4-12)."""
    return c.facts.minimum_set_missing(kl_needed=not c.kl_known and c.true("HIP_SIGNS"))


def insufficient_data(p: _Plan, c: RecContext) -> None:
    missing = minimum_set_missing(c)
    if missing:
        p.add(COLLECT_MISSING, "minimum data set incomplete").missing = missing
    else:
        unknown = flag_words(c.flags, c.findings)  # E4-26: only what could change it
        if unknown:
            draft = p.add(COLLECT_MISSING, "minimum data set complete; some flags still unknown")
            draft.missing = unknown
        else:  # Q4-34
            p.add(COLLECT_MISSING, "nothing missing, no flag unknown", variant="NO_PATTERN")
    if not c.kl_known and c.true("HIP_SIGNS"):
        p.add(HIP_XRAY, "KL grade unknown and HIP_SIGNS (E4-25)")


ROWS: Mapping[tuple[Category, Subtype | None], Callable[[_Plan, RecContext], None]] = {
    (Category.RED_FLAG, None): red_flag,
    (Category.MISDIAGNOSED_HIP_MISSED, None): misdiagnosed_hip_missed,
    (Category.MISDIAGNOSED_SPINE_MISSED, None): misdiagnosed_spine_missed,
    (Category.SIMPLE_HIP_PRIMARY, None): simple_hip_primary,
    (Category.SIMPLE_SPINE_PRIMARY, None): simple_spine_primary,
    (Category.INDETERMINATE_NOT_HIP, None): indeterminate_not_hip,
    (Category.SECONDARY, Subtype.STRUCTURAL): secondary_structural,
    (Category.COMPLEX, None): complex_,
    (Category.SECONDARY, Subtype.HIP_DRIVEN): secondary_hip_driven,
    (Category.SECONDARY, Subtype.FUNCTIONAL): secondary_functional,
    (Category.NOT_HSS_SPINE, None): not_hss_spine,
    (Category.NOT_HSS_HIP, None): not_hss_hip,
    (Category.NO_FINDINGS, None): no_findings,
    (Category.INSUFFICIENT_DATA, None): insufficient_data,
}

# --- added to any category except RED_FLAG (§5.1) ---------------------------------------------

_ESCALATED = "CONSERVATIVE_TX_FAILED: pain persists after the physiotherapy programme"


def _escalate(p: _Plan, c: RecContext) -> None:
    """E4-16 with Q4-27, Q4-28, Q5-07, Q10-14: after a physiotherapy programme without relief,
    the care codes the row emitted are not repeated; in their place the next step."""
    removed = [d for code in sorted(CARE_CODES) if (d := p.remove(code)) is not None]
    if not removed:
        return  # Q4-27: only where the row emitted one
    if c.hip_evidence and c.not_true("IA_NEG"):
        p.add(ORTHO_HIP_REFERRAL, f"{_ESCALATED}; HIP_PATH or HIP_SIGNS")
        if not c.relief_known and c.not_true("HIP_SEVERE"):
            p.add(IA_HIP_INJECTION, f"{_ESCALATED}; IA relief unknown, HIP_SEVERE not true")
        return
    if c.spine_evidence or (c.hip_evidence and c.true("LBP")):
        # Q4-28 (after a negative injection the escalation is the spine referral), Q5-07 (when
        # SPINE_PATH, SPINE_SIGNS or LBP). Q10-14 changes only the case without hip evidence.
        p.add(SPINE_REFERRAL, f"{_ESCALATED}; SPINE_PATH, SPINE_SIGNS or LBP (Q4-28, Q5-07)")
    elif c.true("LBP"):  # Q10-14: only low back pain, no spine or hip evidence
        p.add(LBP_FIRST_LINE, f"{_ESCALATED}; LBP only (Q10-14)", variant="ESCALATED")
    else:  # Q5-07: otherwise the care code stays
        for d in removed:
            p.drafts[d.code] = d


def add_to_any_category(category: Category, p: _Plan, c: RecContext) -> None:
    """§5.1 "Added to any category except RED_FLAG, after the rows above"."""
    if category is Category.RED_FLAG:
        return
    f = c.facts
    if c.not_true("RED_FLAG_SCREEN_COMPLETE") and category is not Category.NO_FINDINGS:
        p.add(RED_FLAG_SCREEN, "RED_FLAG_SCREEN_COMPLETE not true (E4-4; Q4-10)")
    if c.true("GLUTEAL_SIGNS"):
        p.add(GLUTEAL_CARE, "GLUTEAL_SIGNS (E4-11)")
    if c.true("CONSERVATIVE_TX_FAILED"):
        _escalate(p, c)
    if f.avn:  # E4-22, Q10-13: urgent referral first, no diagnostic injection
        p.add(
            ORTHO_HIP_REFERRAL,
            "AVN Condition (E4-22, Q10-13)",
            extra=advice.AVN_REFERRAL,
        )
        p.remove(IA_HIP_INJECTION)
    if f.fai_or_labral and c.true("CONSERVATIVE_TX_FAILED"):
        p.add(
            ORTHO_HIP_REFERRAL,
            "FAI or labral tear and CONSERVATIVE_TX_FAILED (E4-22)",
            extra=advice.FAI_REFERRAL.format(items=f.fai_or_labral),
        )
    if c.true("MOTOR_DEFICIT"):  # Q10-03
        p.add(
            SPINE_REFERRAL,
            "MOTOR_DEFICIT: a motor deficit always reaches a spine clinician (Q10-03)",
            extra=advice.MOTOR_DEFICIT_REFERRAL,
        )
    if f.myelopathy:  # Q10-04
        p.add(
            SPINE_REFERRAL,
            "myelopathy signs (Q10-04)",
            extra=advice.MYELOPATHY_REFERRAL,
        )
    if f.painful_replaced is not None:  # Q10-06, Q11-02
        draft = p.add(
            ORTHO_HIP_REFERRAL,
            PAINFUL_REPLACEMENT_REASON,
            extra=advice.PAINFUL_REPLACEMENT.format(items=f.painful_replaced_words),
        )
        draft.extra_sides |= set(f.painful_replaced)
    # E4-9, Q4-12, Q4-13: both hips replaced: no native joint to grade, no radiograph to ask.
    if f.replaced >= {Side.LEFT, Side.RIGHT}:
        p.remove(HIP_XRAY)
    # HIP_SEVERE with an unknown Hip-Spine class: the referral says what the retired
    # rec-imaging-spinopelvic said (E4-15).
    if ORTHO_HIP_REFERRAL in p and c.true("HIP_SEVERE") and not c.hip_spine_class_known:
        p.add(
            ORTHO_HIP_REFERRAL,
            "",
            extra=advice.SPINOPELVIC_FILMS,
        )


# --- order (§5.3), sides (§5.4), words (§5.2) ---------------------------------------------------


def plan_order(codes: Iterable[str], *, spine_first: bool, avn: bool) -> list[str]:
    """§5.3 with Q10-02 (urgent MRI before urgent hip imaging), Q4-33, Q10-13 and Q11-04 (with
    AVN the referral, then the radiograph), SPINE_FIRST moving the spine pair first."""
    head = [URGENT_EVALUATION, MRI_LUMBAR_URGENT, HIP_IMAGING_URGENT, RED_FLAG_SCREEN]
    hip = (
        [ORTHO_HIP_REFERRAL, HIP_XRAY, IA_HIP_INJECTION]
        if avn
        else [
            HIP_XRAY,
            IA_HIP_INJECTION,
            ORTHO_HIP_REFERRAL,
        ]
    )
    spine = [MRI_LUMBAR, SPINE_REFERRAL]
    tail = [COMBINED_MANAGEMENT, GLUTEAL_CARE, HIP_FIRST_LINE, LBP_FIRST_LINE, SIJ_WORKUP]
    order = head + (spine + hip if spine_first else hip + spine) + tail + [COLLECT_MISSING]
    present = set(codes)
    return [code for code in order if code in present]


def _sides(code: str, d: _Draft, c: RecContext) -> tuple[Side, ...]:
    f = c.facts
    if code == HIP_IMAGING_URGENT:
        chosen = set(f.red_flag_hip_sides)  # Q4-18, Q5-01, Q6-02: a replaced side included
    elif code == GLUTEAL_CARE:
        chosen = set(f.trochanter_sides)  # §5.4, Q5-11: a replaced side included
    elif code == ORTHO_HIP_REFERRAL:
        # Q4-17, Q5-03: KL ≥ 3 sides (HIP_SEVERE) and the AVN / FAI / labral side; otherwise
        # the general rule. Q10-06: the painful replaced side.
        chosen = set(f.kl3_sides if c.true("HIP_SEVERE") else ()) | set(f.condition_sides)
        if not chosen and d.reasons != [PAINFUL_REPLACEMENT_REASON]:
            # Q10-06: a referral made only for a painful replaced hip is "for that side"; the
            # general rule would also refer a native hip whose category calls for no referral.
            chosen = set(f.general_sides)
        chosen -= f.replaced  # Q4-13
        chosen |= d.extra_sides
    elif CATALOGUE[code].hip_directed:
        chosen = set(f.general_sides)
    else:
        return ()
    if code not in (HIP_IMAGING_URGENT, GLUTEAL_CARE):
        chosen -= f.replaced - d.extra_sides  # Q4-13: never name a replaced side
    return sides_in_order(chosen)


def _items(d: _Draft, f: Facts) -> str:
    """The ``{items}`` of the code's instruction (only the code's own words are built)."""
    code = d.code
    if code == URGENT_EVALUATION:
        return f.urgent_evaluation_items
    if code == MRI_LUMBAR_URGENT:
        return f.urgent_mri_items
    if code == HIP_IMAGING_URGENT:
        return f.red_flag_hip_items
    if code == RED_FLAG_SCREEN:
        return ", ".join(f.screen_unrecorded) or "the red-flag screen items"
    if code == MRI_LUMBAR:
        return f.mri_reason
    if code == COLLECT_MISSING:
        return "; ".join(d.missing)
    return ""


def _finish(d: _Draft, c: RecContext, category: Category) -> Recommendation:
    f = c.facts
    entry = CATALOGUE[d.code]
    variant = d.variant
    mt = c.true("MT_CAUTION")
    if mt and d.code in CARE_CODES and variant != "ESCALATED":
        variant = f"{variant}+MT_CAUTION"  # E4-8, Q4-43
    sides = _sides(d.code, d, c)
    items = _items(d, f)
    if d.code == MRI_LUMBAR and f.prior_lumbar_surgery:
        variant = "AFTER_SURGERY"  # Q10-05
    if d.code == MRI_LUMBAR and f.old_lumbar_imaging:
        old_imaging = advice.OLD_LUMBAR_IMAGING.format(date=f.old_lumbar_imaging)
        if old_imaging not in d.extras:
            d.extras.append(old_imaging)  # Q10-05: older imaging is listed as old imaging
    if d.code == IA_HIP_INJECTION and len(sides) == 2:
        variant = "BOTH_SIDES"  # §5.2, §5.4: one hip at a time (conservative reading)
    text = entry.text(variant).format(
        hip=hip_words(sides), precaution=", ".join(f.precautions) or "none", items=items
    )
    if d.code == URGENT_EVALUATION:
        text += "".join(f" {x}" for x in f.urgent_evaluation_extras)  # Q4-41, Q10-08
    if d.code == ORTHO_HIP_REFERRAL and f.avn:
        d.extras.sort(key=lambda x: x != advice.AVN_REFERRAL)  # the urgency first
    certainty = entry.certainty_of(variant)
    parts = [text, *d.extras, certainty_words(certainty)]
    instruction = " ".join(p for p in parts if p)
    return Recommendation(
        code=d.code,
        display=entry.display,
        reason="; ".join(r for r in d.reasons if r) or d.code,
        missing=d.missing,
        instruction=instruction,
        sides=sides,
        hip_directed=entry.hip_directed,
        certainty=certainty,
        sources=entry.sources_of(variant),
    )


def recommend(
    category: Category, subtype: Subtype | None, c: RecContext
) -> tuple[Recommendation, ...]:
    """The §5.1 row of the category, the rules added to any category, in the §5.3 order."""
    p = _Plan()
    ROWS[(category, subtype)](p, c)
    add_to_any_category(category, p, c)
    spine_first = category is not Category.RED_FLAG and c.true("MOTOR_DEFICIT")
    order = plan_order(p.codes(), spine_first=spine_first, avn=c.facts.avn)
    return tuple(_finish(p.drafts[code], c, category) for code in order)
