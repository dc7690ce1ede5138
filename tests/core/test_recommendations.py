"""Recommendations (clinical-spec.md §5, fourth edition): each category row, the rules added to
any category, the plan order (§5.3), the sides (§5.4), the §5.2 instructions with their
variants, certainty and sources. Rows are tested with constructed flag mappings (RecContext);
patient facts (sides, red-flag items, precautions) with ``dataclasses.replace`` on the facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from service.core import (
    Category,
    ConditionKind,
    Flag,
    ImagingFinding,
    PainSite,
    RedFlag,
    Side,
    Subtype,
    Thresholds,
    Tri,
    advice,
    evaluate,
)
from service.core.advice import CATALOGUE, RETIRED_CODES
from service.core.assessment import Recommendation
from service.core.measures import kl_max
from service.core.rec_facts import facts_of
from service.core.recommendations import RecContext, plan_order, recommend
from service.core.summary import review_weeks
from tests.core.builders import NEG, RULE_SET, F, assess, rec_codes, worked_example

COLLECT = advice.COLLECT_MISSING
COMBINED = advice.COMBINED_MANAGEMENT
GLUTEAL = advice.GLUTEAL_CARE
HIP_FIRST = advice.HIP_FIRST_LINE
HIP_URGENT = advice.HIP_IMAGING_URGENT
XRAY = advice.HIP_XRAY
IA = advice.IA_HIP_INJECTION
LBP_FIRST = advice.LBP_FIRST_LINE
MRI = advice.MRI_LUMBAR
MRI_URGENT = advice.MRI_LUMBAR_URGENT
ORTHO = advice.ORTHO_HIP_REFERRAL
SCREEN = advice.RED_FLAG_SCREEN
SIJ = advice.SIJ_WORKUP
SPINE_REF = advice.SPINE_REFERRAL
URGENT = advice.URGENT_EVALUATION
T, FALSE, U = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN
L, R = Side.LEFT, Side.RIGHT
FLAG_NAMES = (
    "LBP GROIN_PAIN RED_FLAG RED_FLAG_EMERGENCY RED_FLAG_SPINE RED_FLAG_HIP "
    "RED_FLAG_SCREEN_COMPLETE HIP_PATH HIP_SEVERE RESTRICTED_IR ROT_ASYMMETRY HIP_PROVOCATIVE "
    "HIP_EXAM_NEGATIVE HIP_SIGNS HIP_EXT_DEFICIT SPINE_PATH RADICULAR MOTOR_DEFICIT SPINE_SIGNS "
    "SIJ_SIGNS GLUTEAL_SIGNS MT_CAUTION IA_POS IA_STRONG IA_NEG SPINE_TX_FAILED HIP_TX_FAILED "
    "CONSERVATIVE_TX_FAILED SHORT_EPISODE ANY_PAIN"
).split()

KL_KNOWN = F().kl(1, 1)
IMAGED = F().imaging(ImagingFinding.NORMAL)


def ctx(
    b: F | None = None,
    relief_known: bool = False,
    hip_spine_class_known: bool = False,
    facts: dict[str, Any] | None = None,
    **values: Tri,
) -> RecContext:
    """Every flag UNKNOWN except those given; the red-flag screen complete unless given."""
    findings = (b or F()).build()
    values.setdefault("RED_FLAG_SCREEN_COMPLETE", T)
    flags = {n: Flag(n, values.get(n, U), f"{n} for the test") for n in FLAG_NAMES}
    base = facts_of(findings, flags, Thresholds())
    given = replace(base, **facts) if facts else base
    return RecContext(
        findings, flags, kl_max(findings), relief_known, hip_spine_class_known, Thresholds(), given
    )


def run(category: Category, c: RecContext, subtype: Subtype | None = None) -> list[Recommendation]:
    return list(recommend(category, subtype, c))


def recs(category: Category, c: RecContext, subtype: Subtype | None = None) -> list[str]:
    return [r.code for r in run(category, c, subtype)]


def one(
    category: Category, c: RecContext, code: str, subtype: Subtype | None = None
) -> Recommendation:
    return next(r for r in run(category, c, subtype) if r.code == code)


# --- RED_FLAG (E4-2, E4-3, Q4-09, Q4-41, Q10-02, Q10-08) -----------------------------------------

EMERGENCY_FACTS = {"emergency_items": ("possible cauda equina syndrome (saddle anaesthesia)",)}


def test_q10_02_emergency_red_flag_says_refer_now_and_emergency_mri() -> None:
    c = ctx(RED_FLAG=T, RED_FLAG_EMERGENCY=T, HIP_SEVERE=T, facts=EMERGENCY_FACTS)
    out = run(Category.RED_FLAG, c)
    assert [r.code for r in out] == [URGENT, MRI_URGENT]
    assert out[0].instruction.startswith("Emergency: refer now (emergency department)")
    assert "saddle anaesthesia" in out[0].instruction
    assert out[1].instruction.startswith("Emergency MRI of the lumbar spine")
    assert all(r.display == CATALOGUE[r.code].display for r in out)  # one display everywhere


def test_q10_02_an_emergency_with_cancer_history_keeps_the_whole_spine() -> None:
    facts = {**EMERGENCY_FACTS, "cancer": True, "spine_items": ("cancer history",)}
    c = ctx(RED_FLAG=T, RED_FLAG_EMERGENCY=T, RED_FLAG_SPINE=T, facts=facts)
    mri = one(Category.RED_FLAG, c, MRI_URGENT)
    assert mri.instruction.startswith("Emergency MRI of the lumbar spine, and of the whole spine")


def test_q10_02_cancer_history_gets_an_urgent_mri_of_the_whole_spine() -> None:
    facts = {
        "cancer": True,
        "spine_items": ("cancer history",),
        "urgent_mri": True,
    }
    out = run(Category.RED_FLAG, ctx(RED_FLAG=T, RED_FLAG_SPINE=T, facts=facts))
    assert [r.code for r in out] == [URGENT, MRI_URGENT]
    assert out[1].instruction.startswith("Urgent MRI of the whole spine")
    assert not out[0].instruction.startswith("Emergency")


@pytest.mark.parametrize(
    ("b", "mri"),
    [
        (F().red(RedFlag.FEVER), False),  # single red flags are weak [M S48]
        (F().red(RedFlag.FEVER).red(RedFlag.WEIGHT_LOSS), True),  # Q4-09: at least two items
        (F().red(RedFlag.CANCER_HISTORY), True),  # §5.1: a cancer history alone
        (F().red(RedFlag.SIGNIFICANT_TRAUMA), False),  # Q4-41
    ],
)
def test_q4_09_two_spine_red_flag_items_give_the_urgent_mri(b: F, mri: bool) -> None:
    a = assess(b)
    assert a.category is Category.RED_FLAG
    assert ("rec-mri-lumbar-urgent" in rec_codes(a)) is mri


def test_e4_3_major_weakness_mrc_3_gives_the_urgent_mri() -> None:
    facts = {"major_weakness": True, "urgent_mri": True}
    assert recs(Category.RED_FLAG, ctx(RED_FLAG=T, facts=facts)) == [URGENT, MRI_URGENT]


def test_q4_41_significant_trauma_alone_gives_urgent_evaluation_with_fracture_imaging() -> None:
    items = ("significant trauma",)
    c = ctx(RED_FLAG=T, RED_FLAG_SPINE=T, facts={"spine_items": items})
    out = run(Category.RED_FLAG, c)
    assert [r.code for r in out] == [URGENT]
    assert "imaging for a vertebral or hip fracture as the examination indicates" in (
        out[0].instruction.lower()
    )


def test_q10_08_fragility_names_a_possible_vertebral_fragility_fracture_without_an_mri() -> None:
    built = F().condition(ConditionKind.OSTEOPOROSIS).build()
    f = replace(built, birth_date=date(1950, 1, 1), reference_time=datetime(2024, 6, 1, tzinfo=UTC))
    a = evaluate(f, RULE_SET)
    assert a.category is Category.RED_FLAG
    assert rec_codes(a) == [URGENT]  # Q4-09: not an item counted for the urgent MRI
    assert "possible vertebral fragility fracture" in a.recommendations[0].instruction


def test_e4_2_hip_red_flag_gets_urgent_hip_imaging_not_a_lumbar_mri() -> None:
    facts = {"hip_items": ("fever with severe groin pain",), "red_flag_hip_sides": (R,)}
    out = run(Category.RED_FLAG, ctx(RED_FLAG=T, RED_FLAG_HIP=T, facts=facts))
    assert [r.code for r in out] == [URGENT, HIP_URGENT]
    assert out[1].sides == (R,)  # Q4-18
    assert "of the right hip" in out[1].instruction
    assert "joint aspiration if septic arthritis is suspected" in out[1].instruction


def test_q10_02_the_urgent_mri_comes_before_urgent_hip_imaging() -> None:
    facts = {**EMERGENCY_FACTS, "hip_items": ("unable to weight-bear",)}
    c = ctx(RED_FLAG=T, RED_FLAG_EMERGENCY=T, RED_FLAG_HIP=T, facts=facts)
    assert recs(Category.RED_FLAG, c) == [URGENT, MRI_URGENT, HIP_URGENT]


def test_q5_01_urgent_hip_imaging_names_a_replaced_side() -> None:
    facts = {"hip_items": ("fever",), "red_flag_hip_sides": (L,), "replaced": frozenset({L})}
    out = one(Category.RED_FLAG, ctx(RED_FLAG=T, RED_FLAG_HIP=T, facts=facts), HIP_URGENT)
    assert out.sides == (L,)


def test_red_flag_gets_nothing_else_not_even_the_screen_or_added_rules() -> None:
    c = ctx(
        RED_FLAG=T,
        RED_FLAG_SCREEN_COMPLETE=FALSE,
        GLUTEAL_SIGNS=T,
        MOTOR_DEFICIT=T,
        CONSERVATIVE_TX_FAILED=T,
        facts={"avn": True, "myelopathy": True},
    )
    assert recs(Category.RED_FLAG, c) == [URGENT]


# --- the category rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [XRAY, IA]),
        (ctx(KL_KNOWN, HIP_SEVERE=FALSE), [IA]),
        (ctx(F().kl(3, 3), HIP_SEVERE=T), [ORTHO]),  # E4-15: no spinopelvic code
        (ctx(relief_known=True, IA_POS=T), [XRAY, ORTHO]),
        (ctx(KL_KNOWN, relief_known=True, IA_NEG=T, HIP_SEVERE=FALSE), [ORTHO]),
        (ctx(relief_known=True, IA_NEG=T), [XRAY]),
    ],
)
def test_misdiagnosed_hip_missed(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.MISDIAGNOSED_HIP_MISSED, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(RADICULAR=T), [MRI, SPINE_REF]),
        (ctx(), [SPINE_REF]),  # Q4-38: only with MRI_INDICATED
        (ctx(IMAGED, RADICULAR=T), [SPINE_REF]),
    ],
)
def test_q4_38_misdiagnosed_spine_missed(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.MISDIAGNOSED_SPINE_MISSED, c) == expected


def test_e4_14_spine_referral_names_the_blocks_and_no_block_code_is_emitted() -> None:
    r = one(Category.SIMPLE_SPINE_PRIMARY, ctx(), SPINE_REF)
    assert "selective nerve-root block" in r.instruction
    assert "medial-branch block" in r.instruction


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [ORTHO, COMBINED]),
        # Q11-03: myotomal weakness and no lumbar imaging; MOTOR_DEFICIT puts the spine first.
        (
            ctx(MOTOR_DEFICIT=T, facts={"myotomal_weakness": True}),
            [MRI, SPINE_REF, ORTHO, COMBINED],
        ),
        (
            ctx(IMAGED, MOTOR_DEFICIT=T, facts={"myotomal_weakness": True}),
            [SPINE_REF, ORTHO, COMBINED],
        ),
        # Q11-03 / Q10-04: myelopathy alone gives no lumbar MRI, but a spine referral.
        (
            ctx(MOTOR_DEFICIT=T, facts={"myelopathy": True}),
            [SPINE_REF, ORTHO, COMBINED],
        ),
    ],
)
def test_q11_03_simple_hip_primary(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SIMPLE_HIP_PRIMARY, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [(ctx(RADICULAR=T), [MRI, SPINE_REF]), (ctx(IMAGED, RADICULAR=T), [SPINE_REF])],
)
def test_simple_spine_primary(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SIMPLE_SPINE_PRIMARY, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [LBP_FIRST]),  # E4-21
        (ctx(LBP=T), [LBP_FIRST]),  # LBP alone is no MRI indication (E4-13)
        (ctx(RADICULAR=T), [MRI, LBP_FIRST]),
        (ctx(IMAGED, RADICULAR=T), [LBP_FIRST]),
        (ctx(SIJ_SIGNS=T), [LBP_FIRST, SIJ]),
    ],
)
def test_e4_21_indeterminate_not_hip(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.INDETERMINATE_NOT_HIP, c) == expected


@pytest.mark.parametrize(
    ("c", "mri"),
    [
        (ctx(RADICULAR=T), True),
        (ctx(RADICULAR=T, SHORT_EPISODE=T, MOTOR_DEFICIT=FALSE), False),  # E4-13: deferred
        (ctx(RADICULAR=T, SHORT_EPISODE=T, MOTOR_DEFICIT=U), True),  # Q10-05: exam needed
        (ctx(RADICULAR=T, SHORT_EPISODE=U, MOTOR_DEFICIT=FALSE), True),  # unknown duration
        (ctx(RADICULAR=T, SHORT_EPISODE=FALSE, MOTOR_DEFICIT=FALSE), True),
        (ctx(MOTOR_DEFICIT=T, facts={"myotomal_weakness": True}), True),
        (ctx(MOTOR_DEFICIT=T, facts={"myelopathy": True}), False),  # Q10-04
        (ctx(IMAGED, RADICULAR=T), False),
        (ctx(IMAGED, RADICULAR=T, facts={"lumbar_imaging_known": False}), True),  # Q10-05 old
    ],
)
def test_e4_13_q10_05_mri_indicated(c: RecContext, mri: bool) -> None:
    assert (MRI in recs(Category.NOT_HSS_SPINE, c)) is mri


def test_q10_05_after_lumbar_surgery_the_mri_is_with_and_without_contrast() -> None:
    c = ctx(RADICULAR=T, facts={"prior_lumbar_surgery": True})
    assert "with and without contrast" in one(Category.NOT_HSS_SPINE, c, MRI).instruction
    plain = one(Category.NOT_HSS_SPINE, ctx(RADICULAR=T), MRI).instruction
    assert plain.startswith("Lumbar MRI without contrast")


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [COMBINED]),
        (ctx(HIP_SEVERE=T), [ORTHO, COMBINED]),
        (ctx(SPINE_SIGNS=T), [IA, COMBINED]),
        (ctx(SPINE_SIGNS=T, relief_known=True), [COMBINED]),
        (ctx(HIP_SEVERE=T, SPINE_SIGNS=T), [IA, ORTHO, COMBINED]),
    ],
)
def test_secondary_structural(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SECONDARY, c, Subtype.STRUCTURAL) == expected


def test_e4_15_the_referral_names_the_spinopelvic_films_while_the_class_is_unknown() -> None:
    sentence = "spinopelvic radiographs may be needed for arthroplasty planning"
    r = one(Category.SECONDARY, ctx(HIP_SEVERE=T), ORTHO, Subtype.STRUCTURAL)
    assert sentence in r.instruction
    known = ctx(HIP_SEVERE=T, hip_spine_class_known=True)
    assert sentence not in one(Category.SECONDARY, known, ORTHO, Subtype.STRUCTURAL).instruction


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(KL_KNOWN), [IA, COMBINED]),
        (ctx(KL_KNOWN, RADICULAR=T), [IA, MRI, COMBINED]),  # E4-14: no lumbar block
        (ctx(KL_KNOWN, relief_known=True), [COMBINED]),  # E4-14: injection only while unknown
        (ctx(), [XRAY, IA, COMBINED]),  # Q4-33: the radiograph before the injection
        (ctx(IMAGED, SPINE_SIGNS=T, RADICULAR=T), [XRAY, IA, COMBINED]),
    ],
)
def test_e4_14_complex(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.COMPLEX, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"), [(ctx(), [COMBINED]), (ctx(HIP_SEVERE=T), [ORTHO, COMBINED])]
)
def test_secondary_hip_driven(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SECONDARY, c, Subtype.HIP_DRIVEN) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [COMBINED]),
        (ctx(HIP_PROVOCATIVE=T), [XRAY, COMBINED]),
        (ctx(KL_KNOWN, HIP_PROVOCATIVE=T), [COMBINED]),
    ],
)
def test_secondary_functional(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SECONDARY, c, Subtype.FUNCTIONAL) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(LBP=T), [LBP_FIRST]),  # E4-21: never "no action" where findings exist
        (ctx(RADICULAR=T), [MRI, LBP_FIRST]),
        (ctx(IMAGED, RADICULAR=T), [LBP_FIRST]),
        (ctx(SIJ_SIGNS=T), [LBP_FIRST, SIJ]),
    ],
)
def test_e4_21_not_hss_spine(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.NOT_HSS_SPINE, c) == expected


def test_q10_05_lbp_first_line_care_always_carries_the_safety_netting_sentence() -> None:
    r = one(Category.NOT_HSS_SPINE, ctx(LBP=T), LBP_FIRST)
    assert (
        "Return at once with numbness in the saddle area, new bladder or bowel change, or new or "
        "worsening leg weakness." in r.instruction
    )
    assert r.certainty == "moderate" and r.sources == ("S47",)


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(HIP_SIGNS=T), [XRAY, HIP_FIRST]),
        (ctx(KL_KNOWN, HIP_SIGNS=T), [HIP_FIRST]),
        (ctx(F().kl(3, 3), HIP_PATH=T, HIP_SEVERE=T), [ORTHO, HIP_FIRST]),
        (ctx(KL_KNOWN, HIP_SIGNS=T, relief_known=True, IA_POS=T), [ORTHO, HIP_FIRST]),
        # Q4-22: lateral hip pain alone: only the gluteal care, no radiograph.
        (ctx(GLUTEAL_SIGNS=T), [GLUTEAL]),
    ],
)
def test_e4_21_q4_22_not_hss_hip(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.NOT_HSS_HIP, c) == expected


def test_q10_11_hip_first_line_care_names_the_analgesics_of_nice_ng226() -> None:
    r = one(Category.NOT_HSS_HIP, ctx(KL_KNOWN, HIP_SIGNS=T), HIP_FIRST)
    assert "paracetamol or a topical NSAID first" in r.instruction
    assert "oral NSAID with gastro-protection where suitable" in r.instruction
    assert "analgesia" not in r.instruction


def test_q4_10_no_findings_recommends_nothing_not_even_the_screen() -> None:
    c = ctx(HIP_SEVERE=T, RED_FLAG_SCREEN_COMPLETE=FALSE)
    assert recs(Category.NO_FINDINGS, c) == []


# --- INSUFFICIENT_DATA (E4-25, Q4-34) ---------------------------------------------------------


def test_e4_25_insufficient_data_names_the_minimum_set_without_lumbar_imaging() -> None:
    a = assess(F())
    collect = next(r for r in a.recommendations if r.code == COLLECT)
    assert collect.missing == (
        "hip internal rotation (left, right)",
        "FADIR test",
        "FABER test",
        "straight leg raise (SLR)",
        "low-back pain NRS",
        "groin pain NRS",
    )
    assert XRAY not in rec_codes(a)  # KL only with HIP_SIGNS
    assert "lumbar imaging" not in " ".join(collect.missing)
    assert collect.instruction.startswith("Measure and record: hip internal rotation")


def test_e4_25_kl_is_asked_for_only_with_hip_signs() -> None:
    c = ctx(HIP_SIGNS=T)
    out = run(Category.INSUFFICIENT_DATA, c)
    assert [r.code for r in out] == [XRAY, COLLECT]  # §5.3: collect last
    assert "Kellgren–Lawrence grade of both hips" in out[1].missing


def test_e4_25_with_the_minimum_set_complete_the_unknown_flags_are_named_in_words() -> None:
    b = F().ir(30, 30).lbp(0).groin(0).fadir(NEG, NEG).faber(NEG, NEG).slr(NEG, NEG)
    out = run(Category.INSUFFICIENT_DATA, ctx(b, HIP_EXT_DEFICIT=U))
    named = out[0].missing
    assert "hip extension (Thomas test or extension range on both sides)" in named
    assert not any("_" in item for item in named)  # never a flag name (E4-19)


def test_q4_34_nothing_missing_and_no_flag_unknown_says_no_pattern() -> None:
    b = F().ir(30, 30).lbp(0).groin(0).fadir(NEG, NEG).faber(NEG, NEG).slr(NEG, NEG)
    known: dict[str, Any] = {n: FALSE for n in FLAG_NAMES if n != "RED_FLAG_SCREEN_COMPLETE"}
    out = run(Category.INSUFFICIENT_DATA, ctx(b, **known))
    assert [r.code for r in out] == [COLLECT]
    assert "fit no hip–spine pattern" in out[0].instruction


# --- added to any category (§5.1) -------------------------------------------------------------


def test_e4_4_the_red_flag_screen_names_each_unrecorded_item_and_comes_first() -> None:
    facts = {"screen_unrecorded": ("fever", "significant trauma")}
    out = run(
        Category.SECONDARY,
        ctx(RED_FLAG_SCREEN_COMPLETE=FALSE, HIP_SEVERE=T, facts=facts),
        Subtype.FUNCTIONAL,
    )
    assert [r.code for r in out] == [SCREEN, COMBINED]
    assert (
        out[0].instruction == "Before treatment starts, ask and record: fever, significant trauma."
    )
    assert out[0].certainty is None  # Q4-47


def test_e4_4_screen_added_when_unknown_too() -> None:
    assert recs(Category.NOT_HSS_SPINE, ctx(LBP=T, RED_FLAG_SCREEN_COMPLETE=U))[0] == SCREEN


def test_e4_11_gluteal_care_names_the_trochanter_sides_a_replaced_one_included() -> None:
    facts = {"trochanter_sides": (R,), "replaced": frozenset({R})}  # Q5-11
    r = one(Category.SECONDARY, ctx(GLUTEAL_SIGNS=T, facts=facts), GLUTEAL, Subtype.FUNCTIONAL)
    assert r.sides == (R,) and r.hip_directed
    assert "8 weeks" in r.instruction
    assert r.certainty == "moderate" and r.sources == ("S41", "S45")


def test_q4_42_review_is_6_weeks_or_8_with_gluteal_care_alone() -> None:
    only_gluteal = tuple(run(Category.NOT_HSS_HIP, ctx(GLUTEAL_SIGNS=T)))
    assert review_weeks(only_gluteal) == 8
    both = tuple(run(Category.SECONDARY, ctx(GLUTEAL_SIGNS=T), Subtype.FUNCTIONAL))
    assert review_weeks(both) == 6
    assert review_weeks(tuple(run(Category.SIMPLE_SPINE_PRIMARY, ctx()))) is None


def test_e4_22_q10_13_q11_04_avn_urgent_referral_first_and_no_injection() -> None:
    c = ctx(facts={"avn": True, "condition_sides": (L,)}, MT_CAUTION=T)
    out = run(Category.COMPLEX, c)
    assert [r.code for r in out] == [ORTHO, XRAY, COMBINED]  # Q11-04, Q10-13: no IA
    assert "Urgent, with hip MRI; no hip mobilisation" in out[0].instruction
    assert out[0].sides == (L,)


def test_q11_04_spine_first_still_moves_the_spine_pair_before_the_avn_referral() -> None:
    assert plan_order([XRAY, ORTHO, SPINE_REF, MRI], spine_first=True, avn=True) == [
        MRI,
        SPINE_REF,
        ORTHO,
        XRAY,
    ]


def test_e4_22_fai_or_labral_tear_is_referred_only_after_failed_physiotherapy() -> None:
    facts = {"fai_or_labral": "femoroacetabular impingement"}
    assert ORTHO not in recs(Category.NOT_HSS_HIP, ctx(KL_KNOWN, HIP_SIGNS=T, facts=facts))
    failed = ctx(KL_KNOWN, HIP_SIGNS=T, CONSERVATIVE_TX_FAILED=T, facts=facts)
    r = one(Category.NOT_HSS_HIP, failed, ORTHO)
    assert "Hip-preservation referral" in r.instruction


@pytest.mark.parametrize(
    ("category", "subtype", "c", "expected"),
    [
        # E4-16: hip evidence → referral and (relief unknown, HIP_SEVERE not true) injection.
        (
            Category.SECONDARY,
            Subtype.FUNCTIONAL,
            ctx(KL_KNOWN, HIP_SIGNS=T, LBP=T, CONSERVATIVE_TX_FAILED=T),
            [IA, ORTHO],
        ),
        # Q4-28: after a negative injection, the spine referral.
        (
            Category.SIMPLE_SPINE_PRIMARY,
            None,
            ctx(HIP_SIGNS=T, SPINE_SIGNS=T, IA_NEG=T, relief_known=True, CONSERVATIVE_TX_FAILED=T),
            [SPINE_REF],  # Q4-27: no care code in the row: unchanged
        ),
        (
            Category.INDETERMINATE_NOT_HIP,
            None,
            ctx(HIP_SIGNS=T, SPINE_PATH=T, IA_NEG=T, relief_known=True, CONSERVATIVE_TX_FAILED=T),
            [SPINE_REF],
        ),
        # E4-16: no hip evidence, spine evidence → spine referral.
        (
            Category.NOT_HSS_SPINE,
            None,
            ctx(IMAGED, SPINE_PATH=T, LBP=T, CONSERVATIVE_TX_FAILED=T),
            [SPINE_REF],
        ),
        # Q4-28, Q5-07: hip evidence, a negative injection, back pain → the spine referral.
        (
            Category.INDETERMINATE_NOT_HIP,
            None,
            ctx(HIP_SIGNS=T, LBP=T, IA_NEG=T, relief_known=True, CONSERVATIVE_TX_FAILED=T),
            [SPINE_REF],
        ),
        # Q10-14: only LBP → the care code stays, as a physical and psychological programme.
        (Category.NOT_HSS_SPINE, None, ctx(LBP=T, CONSERVATIVE_TX_FAILED=T), [LBP_FIRST]),
    ],
)
def test_e4_16_q4_27_q4_28_q5_07_escalation_after_failed_physiotherapy(
    category: Category, subtype: Subtype | None, c: RecContext, expected: list[str]
) -> None:
    assert recs(category, c, subtype) == expected


def test_q10_14_only_lbp_gets_a_combined_physical_and_psychological_programme() -> None:
    r = one(Category.NOT_HSS_SPINE, ctx(LBP=T, CONSERVATIVE_TX_FAILED=T), LBP_FIRST)
    assert "combined physical and psychological programme (NICE NG59)" in r.instruction
    assert "Return at once" in r.instruction  # Q10-05


def test_q5_07_without_spine_evidence_or_lbp_the_care_code_stays() -> None:
    c = ctx(KL_KNOWN, HIP_SIGNS=T, IA_NEG=T, relief_known=True, CONSERVATIVE_TX_FAILED=T)
    assert recs(Category.NOT_HSS_HIP, c) == [HIP_FIRST]


def test_q10_03_a_motor_deficit_always_reaches_a_spine_clinician() -> None:
    for category, subtype in (
        (Category.NOT_HSS_HIP, None),
        (Category.SECONDARY, Subtype.FUNCTIONAL),
        (Category.INSUFFICIENT_DATA, None),
    ):
        codes = recs(category, ctx(HIP_SIGNS=T, MOTOR_DEFICIT=T), subtype)
        assert SPINE_REF in codes
        assert codes[0] == SPINE_REF  # §5.3: SPINE_FIRST puts the spine pair first


def test_q10_04_myelopathy_adds_a_spine_referral_for_cervical_and_thoracic_mri() -> None:
    c = ctx(KL_KNOWN, HIP_SIGNS=T, MOTOR_DEFICIT=T, facts={"myelopathy": True})
    r = one(Category.NOT_HSS_HIP, c, SPINE_REF)
    assert "MRI of the cervical and thoracic spine; not explained by the hip" in r.instruction
    assert MRI not in recs(Category.NOT_HSS_HIP, c)


def test_q10_06_q11_02_a_painful_replaced_hip_is_referred_to_the_arthroplasty_team() -> None:
    facts = {"replaced": frozenset({R}), "painful_replaced": (R,), "general_sides": (R,)}
    out = run(Category.NOT_HSS_SPINE, ctx(LBP=T, facts=facts))
    ortho = next(r for r in out if r.code == ORTHO)
    assert ortho.sides == (R,)
    assert "radiographs, ESR and CRP, review by the arthroplasty team" in ortho.instruction


def test_q4_13_no_hip_directed_code_names_a_replaced_side() -> None:
    facts = {"replaced": frozenset({R}), "general_sides": (L, R)}
    out = run(Category.SECONDARY, ctx(HIP_PROVOCATIVE=T, facts=facts), Subtype.FUNCTIONAL)
    assert all(R not in r.sides for r in out)
    assert next(r for r in out if r.code == COMBINED).sides == (L,)


def test_q10_12_sij_workup_from_faber_alone_completes_the_cluster() -> None:
    r = one(Category.NOT_HSS_SPINE, ctx(SIJ_SIGNS=T, facts={"sij_from_cluster": False}), SIJ)
    assert r.instruction.startswith("Complete the SIJ provocation cluster (≥ 3 of 5)")
    assert "axial spondyloarthritis (NICE NG65)" in r.instruction
    cluster = one(Category.NOT_HSS_SPINE, ctx(SIJ_SIGNS=T, facts={"sij_from_cluster": True}), SIJ)
    assert "image-guided SIJ anaesthetic block" in cluster.instruction


# --- §5.2 words: variants, precautions, certainty (E4-8, E4-17, E4-20, Q4-43, Q4-47) ------------


def test_e4_17_the_programme_text_depends_on_the_subtype_with_certainty_and_sources() -> None:
    functional = one(Category.SECONDARY, ctx(), COMBINED, Subtype.FUNCTIONAL)
    assert functional.instruction.startswith("Pain-free hip joint mobilisation")
    assert functional.instruction.endswith("Certainty of the evidence: very low.")  # Q10-11
    assert functional.sources == ("S42", "seed 001", "seed 002")
    structural = one(Category.SECONDARY, ctx(), COMBINED, Subtype.STRUCTURAL)
    assert structural.instruction.startswith("Hip flexor lengthening")
    assert structural.certainty == "low"
    driven = one(Category.SECONDARY, ctx(), COMBINED, Subtype.HIP_DRIVEN)
    assert "manual therapy only as an adjunct" in driven.instruction
    other = one(Category.COMPLEX, ctx(KL_KNOWN), COMBINED)
    assert other.certainty == "low" and other.sources == ("S42",)


@pytest.mark.parametrize("subtype", [Subtype.FUNCTIONAL, Subtype.STRUCTURAL, Subtype.HIP_DRIVEN])
def test_e4_8_q4_43_with_mt_caution_the_programme_has_no_hip_mobilisation(subtype: Subtype) -> None:
    c = ctx(MT_CAUTION=T, facts={"precautions": ("hip replacement",)})
    r = one(Category.SECONDARY, c, COMBINED, subtype)
    assert (
        "no hip joint mobilisation or manipulation (precaution: hip replacement)" in r.instruction
    )
    assert "Pain-free hip joint mobilisation" not in r.instruction
    assert "manual therapy only as an adjunct" not in r.instruction
    assert r.certainty is None and "Certainty" not in r.instruction  # §5.2 "—", Q4-47


def test_q4_43_both_first_line_care_codes_drop_manual_therapy_with_mt_caution() -> None:
    c = ctx(LBP=T, MT_CAUTION=T, facts={"precautions": ("osteoporosis",)})
    lbp = one(Category.NOT_HSS_SPINE, c, LBP_FIRST)
    assert "manual therapy only within" not in lbp.instruction
    assert "no manual therapy (precaution: osteoporosis)" in lbp.instruction
    hip = one(
        Category.NOT_HSS_HIP,
        ctx(KL_KNOWN, HIP_SIGNS=T, MT_CAUTION=T, facts={"precautions": ("osteoporosis",)}),
        HIP_FIRST,
    )
    assert "no hip joint mobilisation or manipulation (precaution: osteoporosis)" in hip.instruction


def test_q4_47_codes_without_certainty_state_none() -> None:
    r = one(Category.NOT_HSS_HIP, ctx(HIP_SIGNS=T), XRAY)
    assert r.certainty is None and "Certainty" not in r.instruction
    assert r.sources == ("S17",)


def test_e4_20_every_recommendation_carries_display_instruction_and_anchor() -> None:
    c = ctx(HIP_SEVERE=T, SPINE_SIGNS=T, RADICULAR=T, GLUTEAL_SIGNS=T, SIJ_SIGNS=T)
    for category, subtype in (
        (Category.SECONDARY, Subtype.STRUCTURAL),
        (Category.COMPLEX, None),
        (Category.NOT_HSS_SPINE, None),
    ):
        for r in run(category, c, subtype):
            assert r.display == CATALOGUE[r.code].display
            assert r.instruction and r.anchor == r.code
            assert r.hip_directed is CATALOGUE[r.code].hip_directed


ALL_TRUE: dict[str, Any] = {n: T for n in FLAG_NAMES if n not in ("IA_NEG",)}


@pytest.mark.parametrize(
    ("category", "subtype"),
    [
        (Category.MISDIAGNOSED_HIP_MISSED, None),
        (Category.MISDIAGNOSED_SPINE_MISSED, None),
        (Category.SIMPLE_HIP_PRIMARY, None),
        (Category.SIMPLE_SPINE_PRIMARY, None),
        (Category.INDETERMINATE_NOT_HIP, None),
        (Category.SECONDARY, Subtype.STRUCTURAL),
        (Category.SECONDARY, Subtype.HIP_DRIVEN),
        (Category.SECONDARY, Subtype.FUNCTIONAL),
        (Category.COMPLEX, None),
        (Category.NOT_HSS_SPINE, None),
        (Category.NOT_HSS_HIP, None),
        (Category.INSUFFICIENT_DATA, None),
        (Category.RED_FLAG, None),
    ],
)
def test_e4_14_e4_15_retired_codes_never_and_each_code_at_most_once(
    category: Category, subtype: Subtype | None
) -> None:
    facts = {
        "avn": True,
        "myelopathy": True,
        "painful_replaced": (),
        "fai_or_labral": "labral tear",
    }
    for values in (ALL_TRUE, {}):
        codes = recs(category, ctx(facts=facts, **values), subtype)
        assert not set(codes) & RETIRED_CODES
        assert len(codes) == len(set(codes))


# --- sides from the findings (§5.4, E4-18, Q4-15, Q4-16, Q4-17, Q5-03) ---------------------------


def test_e4_18_the_worked_example_programme_names_the_left_hip() -> None:
    a = assess(worked_example())
    combined = next(r for r in a.recommendations if r.code == COMBINED)
    assert combined.sides == (L,)
    assert "the left hip" in combined.instruction


def test_q4_16_equal_ir_names_the_side_with_the_lower_total_rotation() -> None:
    b = F().ir(20, 20).er(30, 45).lbp(5)
    c = ctx(b, ROT_ASYMMETRY=T)
    assert c.facts.general_sides == (L,)


def test_q4_15_a_sided_groin_pain_names_its_side_only_without_a_negative_hip_exam() -> None:
    b = F().pain(PainSite.GROIN, 5, side=R)
    assert ctx(b).facts.general_sides == (R,)
    assert ctx(b, HIP_EXAM_NEGATIVE=T).facts.general_sides == ()


def test_q4_17_q5_03_the_referral_names_kl3_sides_and_the_condition_side_else_the_signs() -> None:
    facts = {"general_sides": (R,)}
    c = ctx(F().kl(3, 1), HIP_SEVERE=T, facts=facts)
    assert one(Category.SECONDARY, c, ORTHO, Subtype.HIP_DRIVEN).sides == (L,)
    c2 = ctx(F().kl(3, 1), HIP_SEVERE=T, facts={**facts, "condition_sides": (R,)})
    assert one(Category.SECONDARY, c2, ORTHO, Subtype.HIP_DRIVEN).sides == (L, R)
    c3 = ctx(HIP_SIGNS=T, relief_known=True, IA_POS=T, facts=facts)
    assert one(Category.NOT_HSS_HIP, c3, ORTHO).sides == (R,)  # Q5-03: the general rule


def test_without_a_side_the_instruction_says_side_not_recorded() -> None:
    r = one(Category.NOT_HSS_HIP, ctx(HIP_SIGNS=T), XRAY)
    assert r.sides == () and "the hip (side not recorded)" in r.instruction


def test_e4_20_case_sentences_are_published_for_the_rules_page() -> None:
    """Every sentence appended to an instruction is in advice.ADDENDA (one source, §6.2)."""
    c = ctx(
        KL_KNOWN,
        HIP_SIGNS=T,
        HIP_SEVERE=T,
        MOTOR_DEFICIT=T,
        CONSERVATIVE_TX_FAILED=T,
        facts={"avn": True, "myelopathy": True, "fai_or_labral": "labral tear"},
    )
    out = {r.code: r.instruction for r in run(Category.NOT_HSS_HIP, c)}
    texts = {text for entries in advice.ADDENDA.values() for _, text in entries}
    assert advice.AVN_REFERRAL in out[ORTHO] and advice.SPINOPELVIC_FILMS in out[ORTHO]
    assert out[ORTHO].index(advice.AVN_REFERRAL) < out[ORTHO].index(advice.SPINOPELVIC_FILMS)
    assert advice.MYELOPATHY_REFERRAL in out[SPINE_REF]
    assert advice.MOTOR_DEFICIT_REFERRAL in texts and set(advice.ADDENDA) <= set(CATALOGUE)


def test_e4_9_q4_12_no_hip_radiograph_is_asked_for_when_both_hips_are_replaced() -> None:
    c = ctx(HIP_SIGNS=T, facts={"replaced": frozenset({L, R})})
    assert XRAY not in recs(Category.NOT_HSS_HIP, c)
    assert XRAY not in recs(Category.INSUFFICIENT_DATA, c)
    assert XRAY in recs(Category.NOT_HSS_HIP, ctx(HIP_SIGNS=T, facts={"replaced": frozenset({L})}))


def test_two_sided_diagnostic_injection_is_one_hip_at_a_time() -> None:
    """§5.2/§5.4, conservative reading: both hips are never injected together."""
    r = one(Category.COMPLEX, ctx(KL_KNOWN, facts={"general_sides": (L, R)}), IA)
    assert r.sides == (L, R)
    assert r.instruction.startswith("Image-guided anaesthetic injection of one hip at a time")
    assert "each result recorded separately" in r.instruction
    single = one(Category.COMPLEX, ctx(KL_KNOWN, facts={"general_sides": (R,)}), IA)
    assert single.instruction.startswith("Image-guided anaesthetic injection of the right hip")
