"""Patient facts the recommendations and their words read (clinical-spec.md §5.4, §6.1):
red-flag items in words with their sides, the screen, precautions, sides of hip signs."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from service.core import (
    ConditionKind,
    Flag,
    PainSite,
    RedFlag,
    Side,
    SidedTest,
    Thresholds,
    Tri,
)
from service.core.rec_facts import facts_of, hip_words
from tests.core.builders import POS, F, assess

L, R = Side.LEFT, Side.RIGHT


def _facts(b: F, **flags: Tri):  # type: ignore[no-untyped-def]
    named = {n: Flag(n, v, "test") for n, v in flags.items()}
    return facts_of(b.build(), named, Thresholds())


def test_q4_18_septic_hip_items_and_side_come_from_the_signs_that_made_the_flag() -> None:
    b = (
        F()
        .red(RedFlag.FEVER)
        .pain(PainSite.GROIN, 9, side=R)
        .test(SidedTest.PASSIVE_IR_PAIN, right=POS)
    )
    f = _facts(b, RED_FLAG_HIP=Tri.TRUE)
    assert f.red_flag_hip_sides == (R,)
    assert f.hip_items == (
        "fever with severe groin pain (NRS 9) and painful passive internal rotation (right): "
        "possible septic arthritis",
    )
    # the spine item "fever" is not repeated beside the hip item that names it
    assert f.other_spine_items == ()


def test_q4_18_unable_to_weight_bear_alone_names_no_side() -> None:
    f = _facts(F().red(RedFlag.UNABLE_TO_WEIGHT_BEAR), RED_FLAG_HIP=Tri.TRUE)
    assert f.hip_items == ("unable to weight-bear",) and f.red_flag_hip_sides == ()


def test_q10_02_cauda_equina_words_and_the_emergency_lead() -> None:
    f = _facts(F().red(RedFlag.SADDLE_ANAESTHESIA).red(RedFlag.BLADDER_DYSFUNCTION))
    assert f.emergency_items == (
        "possible cauda equina syndrome (saddle anaesthesia, bladder dysfunction)",
    )
    assert assess(F().condition(ConditionKind.CAUDA_EQUINA)).lead.startswith(
        "Emergency: refer now (emergency department): cauda equina syndrome (recorded diagnosis)"
    )


def test_q4_31_e4_4_the_screen_names_the_seven_items_not_recorded() -> None:
    f = _facts(F().red(RedFlag.FEVER, False).red(RedFlag.CANCER_HISTORY, False))
    assert f.screen_unrecorded == (
        "saddle anaesthesia",
        "bladder dysfunction",
        "faecal incontinence",
        "weight loss",
        "significant trauma",
    )


def test_e4_8_precautions_are_named_in_words() -> None:
    b = F().condition(ConditionKind.AVN).condition(ConditionKind.OSTEOPOROSIS)
    assert _facts(b).precautions == ("avascular necrosis", "osteoporosis")


def test_q4_13_q10_06_q11_02_a_side_less_groin_pain_with_one_replaced_hip_is_that_hips() -> None:
    base = F().groin(4).build()
    f = facts_of(replace(base, replaced_sides=frozenset({L})), {}, Thresholds())
    assert f.painful_replaced == (L,)
    assert L not in f.general_sides  # Q4-13


def test_e4_18_hip_words() -> None:
    assert hip_words((L,)) == "the left hip"
    assert hip_words((L, R)) == "both hips"
    assert hip_words(()) == "the hip (side not recorded)"


def test_groin_sides_and_words_honour_the_pain_present_threshold() -> None:
    """§7 "pain present NRS ≥ 1 [P]" (Thresholds.pain_present_nrs, PAIN_PRESENT_NRS): a groin
    pain names its side (§5.4, Q4-15) and carries the lead (Q4-44) from the threshold, not from
    a literal 1: groin NRS 2 is present at the default and absent with the threshold at 3."""
    findings = F().pain(PainSite.GROIN, 2, side=R).build()
    named = {
        n: Flag(n, v, "test") for n, v in (("GROIN_PAIN", Tri.TRUE), ("HIP_PROVOCATIVE", Tri.FALSE))
    }
    default = facts_of(findings, named, Thresholds())
    assert default.general_sides == (R,)
    assert default.hip_findings == ("groin pain 2/10 right",)
    raised = facts_of(findings, named, Thresholds(pain_present_nrs=Decimal(3)))
    assert raised.general_sides == ()
    assert raised.hip_findings == ()
    at_two = facts_of(findings, named, Thresholds(pain_present_nrs=Decimal(2)))
    assert at_two.general_sides == (R,) and at_two.hip_findings == ("groin pain 2/10 right",)
