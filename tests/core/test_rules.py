"""Category rules R1–R12 (clinical-spec.md §4): every category reached, first true rule wins,
each evaluated rule traced; priority flags."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.core import (
    Category,
    ConditionKind,
    Flag,
    ImagingFinding,
    NeuroSign,
    Radiographic,
    RedFlag,
    SidedTest,
    Subtype,
    TreatmentKind,
    Tri,
)
from service.core.rules import RULES, RuleInputs, classify
from tests.core.builders import NEG, POS, F, assess, codes, day, worked_example

STENOSIS, NORMAL = ImagingFinding.STENOSIS, ImagingFinding.NORMAL
C = Category


def no_hip_signs() -> F:
    return F().ir(30, 30).fadir(NEG, NEG).faber(NEG, NEG).groin(0)


def no_spine_signs(b: F) -> F:
    b.slr(NEG, NEG)
    b.sign(NeuroSign.MYOTOMAL_WEAKNESS, False).sign(NeuroSign.MYELOPATHY_SIGNS, False)
    return b


CASES: list[tuple[str, F, Category, Subtype | None, str]] = [
    ("red flag", worked_example().red(RedFlag.FEVER), C.RED_FLAG, None, "R1"),
    (
        "lumbar surgery failed, hip OA",
        F()
        .lbp(7, 6, times=(day(1), day(20)))
        .treated(TreatmentKind.LUMBAR_SURGERY, day(10))
        .kl(2, 2),
        C.MISDIAGNOSED_HIP_MISSED,
        None,
        "R2",
    ),
    (
        "hip arthroplasty failed, stenosis",
        F()
        .lbp(6, times=(day(20),))
        .treated(TreatmentKind.HIP_ARTHROPLASTY, day(10))
        .imaging(STENOSIS),
        C.MISDIAGNOSED_SPINE_MISSED,
        None,
        "R3",
    ),
    ("IA positive", F().kl(2, 2).lbp(5).injection(pct="60"), C.SIMPLE_HIP_PRIMARY, None, "R4"),
    (
        "IA negative, spine pathology",
        F().kl(2, 2).imaging(STENOSIS).injection(pct="20"),
        C.SIMPLE_SPINE_PRIMARY,
        None,
        "R4",
    ),
    (
        "IA negative, LBP only",
        F().kl(2, 2).lbp(5).imaging(NORMAL).injection(pct="20"),
        C.INDETERMINATE_NOT_HIP,
        None,
        "R4",
    ),
    (
        "extension deficit with LBP",
        F().lbp(5).test(SidedTest.THOMAS, left=POS),
        C.SECONDARY,
        Subtype.STRUCTURAL,
        "R5",
    ),
    ("Diebo HIP_SPINE", F().kl(3, 3).pi_ll("70", "40"), C.SECONDARY, Subtype.STRUCTURAL, "R5"),
    (
        "both pathologies, hip signs only",
        no_spine_signs(F().kl(2, 2).imaging(STENOSIS).ir(10, 30)),
        C.SIMPLE_HIP_PRIMARY,
        None,
        "R6",
    ),
    (
        "both pathologies, spine signs only",
        no_hip_signs().kl(2, 2).imaging(STENOSIS).slr(POS, NEG),
        C.SIMPLE_SPINE_PRIMARY,
        None,
        "R6",
    ),
    (
        "both pathologies, both signs",
        F().kl(2, 2).imaging(STENOSIS).ir(10, 30).slr(POS, NEG),
        C.COMPLEX,
        None,
        "R6",
    ),
    (
        "both pathologies, no signs known",
        F().kl(2, 2).imaging(STENOSIS),
        C.COMPLEX,
        None,
        "R6",
    ),
    (
        "hip pathology with radicular signs",
        F().kl(2, 2).imaging(NORMAL).slr(POS, NEG),
        C.COMPLEX,
        None,
        "R7",
    ),
    (
        "hip pathology with LBP",
        F().kl(2, 2).lbp(5).imaging(NORMAL).slr(NEG, NEG),
        C.SECONDARY,
        Subtype.HIP_DRIVEN,
        "R7",
    ),
    ("hip signs with LBP (§8)", worked_example(), C.SECONDARY, Subtype.FUNCTIONAL, "R8"),
    (
        "hip signs with radicular signs",
        F().kl(1, 1).ir(10, 30).slr(POS, NEG),
        C.COMPLEX,
        None,
        "R8",
    ),
    ("spine only", no_hip_signs().kl(1, 1).lbp(5), C.NOT_HSS_SPINE, None, "R9"),
    ("hip only", F().kl(2, 2).lbp(0), C.NOT_HSS_HIP, None, "R10"),
    (
        "nothing found",
        no_spine_signs(no_hip_signs().kl(1, 1).lbp(0).imaging(NORMAL)),
        C.NO_FINDINGS,
        None,
        "R11",
    ),
    ("nothing recorded", F(), C.INSUFFICIENT_DATA, None, "R12"),
    (
        "no findings but site-less pain",
        no_spine_signs(no_hip_signs().kl(1, 1).lbp(0).imaging(NORMAL)).pain(None, 5),
        C.INSUFFICIENT_DATA,
        None,
        "R12",
    ),
    (
        "no findings but unrecognised-site pain",
        no_spine_signs(no_hip_signs().kl(1, 1).lbp(0)).pain(None, 2, unrecognised="http://x|y"),
        C.INSUFFICIENT_DATA,
        None,
        "R12",
    ),
]


@pytest.mark.parametrize(
    ("b", "category", "subtype", "rule"),
    [pytest.param(b, cat, sub, rule, id=name) for name, b, cat, sub, rule in CASES],
)
def test_each_category_is_reached_by_its_rule(
    b: F, category: Category, subtype: Subtype | None, rule: str
) -> None:
    a = assess(b)
    assert (a.category, a.subtype, a.rule) == (category, subtype, rule)
    assert a.conclusions[0].kind == "category"
    assert a.conclusions[0].code == category.value
    assert a.conclusions[0].basis.startswith(f"{rule}: ")


def test_every_category_is_covered_by_the_cases() -> None:
    assert {case[2] for case in CASES} == set(Category)
    assert {case[4] for case in CASES} == {rule.id for rule in RULES}


def test_the_rules_are_r1_to_r12_in_order_and_r12_always_fires() -> None:
    assert [rule.id for rule in RULES] == [f"R{n}" for n in range(1, 13)]


def test_each_evaluated_rule_is_traced_with_its_verdict_until_the_first_true_one() -> None:
    a = assess(worked_example())
    steps = [s for s in a.trace if s.rule in {r.id for r in RULES}]
    assert [s.rule for s in steps] == ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"]
    assert [s.verdict for s in steps] == [
        "unknown",  # RED_FLAG is never false
        "unknown",  # SPINE_TX_FAILED unknown, HIP_SIGNS true: could fire with history
        "false",
        "false",
        "unknown",  # HIP_EXT_DEFICIT and Diebo unknown
        "false",
        "false",
        "true",
    ]
    assert "HIP_SIGNS=true" in steps[-1].basis


def test_an_earlier_rule_wins_over_a_later_true_one() -> None:
    # R2 (failed lumbar surgery) and R6 (both pathologies) both hold: R2 wins.
    b = F().lbp(7, 6, times=(day(1), day(20))).treated(TreatmentKind.LUMBAR_SURGERY, day(10))
    a = assess(b.kl(2, 2).imaging(STENOSIS))
    assert a.rule == "R2"


def test_r4_with_strong_relief_adds_confidence_high() -> None:
    strong = assess(F().kl(2, 2).lbp(5).injection(pct="80"))
    assert codes(strong, "confidence") == ["confidence-high"]
    plain = assess(F().kl(2, 2).lbp(5).injection(pct="79.9"))
    assert codes(plain, "confidence") == []


@pytest.mark.parametrize(
    ("category_builder", "group"),
    [
        (F().kl(2, 2).lbp(5).injection(pct="60"), "offierski-simple"),
        (F().kl(2, 2).imaging(STENOSIS).injection(pct="20"), "offierski-simple"),
        (F().kl(2, 2).imaging(STENOSIS), "offierski-complex"),
        (worked_example(), "offierski-secondary"),
        (
            F()
            .lbp(6, times=(day(20),))
            .treated(TreatmentKind.HIP_ARTHROPLASTY, day(10))
            .imaging(STENOSIS),
            "offierski-misdiagnosed",
        ),
    ],
)
def test_categories_map_onto_offierski_and_macnab(category_builder: F, group: str) -> None:
    assert codes(assess(category_builder), "offierski") == [group]


@pytest.mark.parametrize(
    "b",
    [F().kl(2, 2).lbp(0), F(), worked_example().red(RedFlag.FEVER), no_hip_signs().kl(1, 1).lbp(5)],
)
def test_categories_outside_offierski_have_no_group(b: F) -> None:
    assert codes(assess(b), "offierski") == []


def test_red_flag_urgency_is_emergency_only_for_emergency_red_flags() -> None:
    assert codes(assess(F().red(RedFlag.BLADDER_DYSFUNCTION)), "urgency") == ["urgency-emergency"]
    assert codes(assess(F().red(RedFlag.WEIGHT_LOSS)), "urgency") == ["urgency-urgent"]
    assert codes(assess(worked_example()), "urgency") == []


# --- priority flags ---------------------------------------------------------------------------


def test_motor_deficit_puts_the_spine_first() -> None:
    a = assess(worked_example().sign(NeuroSign.MYOTOMAL_WEAKNESS))
    assert codes(a, "priority") == ["priority-spine-first"]


@pytest.mark.parametrize(
    ("extra", "hip_first"),
    [
        (lambda b: b.radio(Radiographic.PI_LL_MISMATCH, "10"), True),
        (lambda b: b.radio(Radiographic.PI_LL_MISMATCH, "9.9"), False),
        (lambda b: b.radio(Radiographic.SVA, "40"), True),
        (lambda b: b.radio(Radiographic.SVA, "39.9"), False),
        (lambda b: b, False),
    ],
)
def test_severe_hip_oa_with_sagittal_imbalance_puts_the_hip_first(
    extra: Callable[[F], F], hip_first: bool
) -> None:
    a = assess(extra(F().kl(3, 3).lbp(5)))
    assert ("priority-hip-first" in codes(a, "priority")) is hip_first


def test_hip_first_needs_severe_hip_oa() -> None:
    a = assess(F().kl(2, 2).lbp(5).radio(Radiographic.SVA, "100"))
    assert codes(a, "priority") == []


def test_severe_hip_with_stenosis_and_claudication_has_no_consensus() -> None:
    b = F().kl(3, 3).lbp(5).imaging(STENOSIS).sign(NeuroSign.NEUROGENIC_CLAUDICATION)
    assert codes(assess(b), "priority") == ["priority-no-consensus"]
    by_condition = F().kl(3, 3).lbp(5).condition(ConditionKind.SPINAL_STENOSIS)
    by_condition.sign(NeuroSign.NEUROGENIC_CLAUDICATION)
    assert codes(assess(by_condition), "priority") == ["priority-no-consensus"]
    with_motor = F().kl(3, 3).lbp(5).imaging(STENOSIS).sign(NeuroSign.NEUROGENIC_CLAUDICATION)
    with_motor.sign(NeuroSign.MYELOPATHY_SIGNS)
    assert codes(assess(with_motor), "priority") == ["priority-spine-first"]


def test_red_flag_gets_no_priority_flags() -> None:
    a = assess(F().kl(3, 3).sign(NeuroSign.MYOTOMAL_WEAKNESS).red(RedFlag.FEVER))
    assert a.category is Category.RED_FLAG
    assert codes(a, "priority") == []
    assert not any(s.rule in {"SPINE_FIRST", "HIP_FIRST", "NO_CONSENSUS"} for s in a.trace)


# --- fourth edition: lateral hip pain (E4-11, Q4-22, Q4-36) -------------------------------------


def _inputs(**values: Tri) -> RuleInputs:
    names = (
        "RED_FLAG LBP HIP_PATH HIP_SIGNS GLUTEAL_SIGNS SPINE_PATH SPINE_SIGNS SPINE_TX_FAILED "
        "HIP_TX_FAILED HIP_EXT_DEFICIT SIJ_SIGNS IA_POS IA_STRONG IA_NEG ANY_PAIN"
    ).split()
    flags = {n: Flag(n, values.get(n, Tri.UNKNOWN), "test") for n in names}
    return RuleInputs(flags, None)


def test_q4_22_lateral_hip_pain_alone_is_a_hip_problem_by_r10() -> None:
    i = _inputs(
        GLUTEAL_SIGNS=Tri.TRUE,
        LBP=Tri.FALSE,
        HIP_PATH=Tri.FALSE,
        HIP_SIGNS=Tri.FALSE,
        SPINE_PATH=Tri.FALSE,
        SPINE_SIGNS=Tri.FALSE,
        SPINE_TX_FAILED=Tri.FALSE,
        HIP_TX_FAILED=Tri.FALSE,
        ANY_PAIN=Tri.TRUE,
    )
    rule, decision, steps = classify(i)
    assert (rule.id, decision.category) == ("R10", C.NOT_HSS_HIP)
    assert "GLUTEAL_SIGNS=true" in steps[-1].basis


def test_e4_11_r11_reads_gluteal_signs_and_a_missing_flag_is_unknown() -> None:
    r11 = next(r for r in RULES if r.id == "R11")
    assert "GLUTEAL_SIGNS" in r11.reads and "GLUTEAL_SIGNS" in r11.text
    i = RuleInputs({"LBP": Flag("LBP", Tri.FALSE, "")}, None)
    assert i["GLUTEAL_SIGNS"] is Tri.UNKNOWN
