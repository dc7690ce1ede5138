"""Recommendations (clinical-spec.md §5): each category row, each condition, in the row's order;
the cross-category spinopelvic-imaging rule; the INSUFFICIENT_DATA minimum set."""

from __future__ import annotations

import pytest

from service.core import Category, Flag, ImagingFinding, Subtype, Tri
from service.core.measures import kl_max
from service.core.recommendations import DISPLAY, EMERGENCY_DISPLAY, RecContext, recommend
from tests.core.builders import NEG, POS, F, assess, rec_codes, worked_example

T, FALSE, U = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN
FLAG_NAMES = (
    "LBP GROIN_PAIN RED_FLAG RED_FLAG_EMERGENCY HIP_PATH HIP_SEVERE RESTRICTED_IR ROT_ASYMMETRY "
    "HIP_PROVOCATIVE HIP_SIGNS HIP_EXT_DEFICIT SPINE_PATH RADICULAR MOTOR_DEFICIT SPINE_SIGNS "
    "SIJ_SIGNS IA_POS IA_STRONG IA_NEG SPINE_TX_FAILED HIP_TX_FAILED ANY_PAIN"
).split()

URGENT, MRI_URGENT = "rec-urgent-evaluation", "rec-mri-lumbar-urgent"
COMBINED, IA = "rec-combined-hip-lumbar-management", "rec-diagnostic-ia-hip-injection"
XRAY, MRI, SPINOPELVIC = "rec-imaging-hip-xray", "rec-mri-lumbar", "rec-imaging-spinopelvic"
ORTHO, SPINE_REF = "rec-ortho-hip-referral", "rec-spine-referral"
BLOCK, SIJ, COLLECT = "rec-diagnostic-lumbar-block", "rec-sij-workup", "rec-collect-missing-data"

KL_KNOWN = F().kl(1, 1)
IMAGED = F().imaging(ImagingFinding.NORMAL)


def ctx(
    b: F | None = None,
    relief_known: bool = False,
    hip_spine_class_known: bool = False,
    **values: Tri,
) -> RecContext:
    """A context with every flag UNKNOWN except those given."""
    findings = (b or F()).build()
    flags = {n: Flag(n, values.get(n, U), f"{n} for the test") for n in FLAG_NAMES}
    return RecContext(findings, flags, kl_max(findings), relief_known, hip_spine_class_known)


def recs(category: Category, c: RecContext, subtype: Subtype | None = None) -> list[str]:
    return [r.code for r in recommend(category, subtype, c)]


def test_red_flag_gets_urgent_evaluation_and_urgent_mri_and_nothing_else() -> None:
    assert recs(Category.RED_FLAG, ctx(RED_FLAG=T, HIP_SEVERE=T)) == [URGENT, MRI_URGENT]
    emergency = recommend(Category.RED_FLAG, None, ctx(RED_FLAG=T, RED_FLAG_EMERGENCY=T))
    assert emergency[0].display == EMERGENCY_DISPLAY
    urgent = recommend(Category.RED_FLAG, None, ctx(RED_FLAG=T))
    assert urgent[0].display == DISPLAY[URGENT]


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [XRAY, IA]),
        (ctx(KL_KNOWN, HIP_SEVERE=FALSE), [IA]),
        (ctx(F().kl(3, 3), HIP_SEVERE=T), [ORTHO, SPINOPELVIC]),
        (ctx(relief_known=True, IA_POS=T), [XRAY, ORTHO]),
        (ctx(KL_KNOWN, relief_known=True, IA_NEG=T, HIP_SEVERE=FALSE), [ORTHO]),
        (ctx(relief_known=True, IA_NEG=T), [XRAY]),
    ],
)
def test_misdiagnosed_hip_missed(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.MISDIAGNOSED_HIP_MISSED, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [(ctx(), [MRI, BLOCK, SPINE_REF]), (ctx(IMAGED), [BLOCK, SPINE_REF])],
)
def test_misdiagnosed_spine_missed(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.MISDIAGNOSED_SPINE_MISSED, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [ORTHO, COMBINED]),
        (ctx(MOTOR_DEFICIT=T), [ORTHO, COMBINED, MRI]),
        (ctx(IMAGED, MOTOR_DEFICIT=T), [ORTHO, COMBINED, MRI]),  # "only if MOTOR_DEFICIT"
    ],
)
def test_simple_hip_primary(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SIMPLE_HIP_PRIMARY, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [(ctx(), [MRI, SPINE_REF, BLOCK]), (ctx(IMAGED), [SPINE_REF, BLOCK])],
)
def test_simple_spine_primary(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SIMPLE_SPINE_PRIMARY, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), []),
        (ctx(LBP=T), [MRI]),
        (ctx(RADICULAR=T), [MRI]),
        (ctx(IMAGED, LBP=T), []),
        (ctx(SIJ_SIGNS=T), [SIJ]),
        (ctx(LBP=T, SIJ_SIGNS=T), [MRI, SIJ]),
    ],
)
def test_indeterminate_not_hip(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.INDETERMINATE_NOT_HIP, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [COMBINED]),
        (ctx(HIP_SEVERE=T), [COMBINED, ORTHO, SPINOPELVIC]),
        (ctx(F().pi_ll(50, 45).ss(40, 25), HIP_SEVERE=T), [COMBINED, ORTHO, SPINOPELVIC]),
        (
            ctx(F().pi_ll(50, 45).ss(40, 25), hip_spine_class_known=True, HIP_SEVERE=T),
            [COMBINED, ORTHO],
        ),
        (ctx(SPINE_SIGNS=T), [COMBINED, IA]),
        (ctx(HIP_SEVERE=T, SPINE_SIGNS=T), [COMBINED, ORTHO, SPINOPELVIC, IA]),
    ],
)
def test_secondary_structural(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SECONDARY, c, Subtype.STRUCTURAL) == expected


def test_secondary_structural_spinopelvic_names_the_unknown_measures() -> None:
    c = ctx(F().pi_ll(50, 45), HIP_SEVERE=T)
    spinopelvic = [
        r for r in recommend(Category.SECONDARY, Subtype.STRUCTURAL, c) if r.code == SPINOPELVIC
    ]
    assert len(spinopelvic) == 1
    assert "SS seated unknown" in spinopelvic[0].reason
    assert "PI" not in spinopelvic[0].reason.split("and", 1)[1]


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(KL_KNOWN), [IA, COMBINED]),
        (ctx(KL_KNOWN, RADICULAR=T), [IA, BLOCK, COMBINED]),
        (ctx(), [IA, COMBINED, XRAY]),
        (ctx(KL_KNOWN, SPINE_SIGNS=T), [IA, COMBINED, MRI]),
        (ctx(IMAGED, SPINE_SIGNS=T), [IA, COMBINED, XRAY]),
        (ctx(RADICULAR=T, SPINE_SIGNS=T), [IA, BLOCK, COMBINED, XRAY, MRI]),
    ],
)
def test_complex(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.COMPLEX, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [(ctx(), [COMBINED]), (ctx(HIP_SEVERE=T), [COMBINED, ORTHO, SPINOPELVIC])],
)
def test_secondary_hip_driven(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SECONDARY, c, Subtype.HIP_DRIVEN) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [COMBINED]),
        (ctx(HIP_PROVOCATIVE=T), [COMBINED, XRAY]),
        (ctx(KL_KNOWN, HIP_PROVOCATIVE=T), [COMBINED]),
    ],
)
def test_secondary_functional(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.SECONDARY, c, Subtype.FUNCTIONAL) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(LBP=T), []),
        (ctx(RADICULAR=T), [MRI]),
        (ctx(MOTOR_DEFICIT=T), [MRI]),
        (ctx(IMAGED, RADICULAR=T), []),
        (ctx(SIJ_SIGNS=T), [SIJ]),
    ],
)
def test_not_hss_spine(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.NOT_HSS_SPINE, c) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (ctx(), [XRAY]),
        (ctx(KL_KNOWN), []),
        (ctx(F().kl(3, 3), HIP_SEVERE=T), [ORTHO, SPINOPELVIC]),
        (ctx(KL_KNOWN, relief_known=True, IA_POS=T), [ORTHO]),
    ],
)
def test_not_hss_hip(c: RecContext, expected: list[str]) -> None:
    assert recs(Category.NOT_HSS_HIP, c) == expected


def test_no_findings_recommends_nothing() -> None:
    assert recs(Category.NO_FINDINGS, ctx(HIP_SEVERE=T)) == []


def test_the_spinopelvic_rule_needs_severe_hip_a_referral_and_an_unknown_class() -> None:
    assert recs(Category.SIMPLE_HIP_PRIMARY, ctx(HIP_SEVERE=T)) == [ORTHO, COMBINED, SPINOPELVIC]
    known = ctx(HIP_SEVERE=T, hip_spine_class_known=True)
    assert recs(Category.SIMPLE_HIP_PRIMARY, known) == [ORTHO, COMBINED]
    assert recs(Category.SIMPLE_HIP_PRIMARY, ctx(HIP_SEVERE=U)) == [ORTHO, COMBINED]
    assert recs(Category.COMPLEX, ctx(HIP_SEVERE=T)) == [IA, COMBINED, XRAY]  # no referral


def test_insufficient_data_names_each_missing_item_of_the_minimum_set() -> None:
    a = assess(F())
    assert rec_codes(a) == [COLLECT, XRAY]
    collect = a.recommendations[0]
    assert collect.missing == (
        "hip internal rotation (left, right)",
        "FADIR test",
        "FABER test",
        "straight leg raise (SLR)",
        "low-back pain NRS",
        "groin pain NRS",
        "Kellgren–Lawrence grade of both hips",
        "lumbar imaging",
    )
    assert all(item in a.missing for item in collect.missing)
    assert "lumbar imaging" in a.summary


def test_insufficient_data_names_a_single_missing_side_and_an_unlocated_positive_faber() -> None:
    b = F().ir(right=30).fadir(NEG, NEG).faber(left=POS).slr(NEG, NEG).lbp(0).groin(0)
    b.kl(1, 1).imaging(ImagingFinding.NORMAL)
    a = assess(b)
    assert a.category is Category.INSUFFICIENT_DATA
    assert rec_codes(a) == [COLLECT]
    assert a.recommendations[0].missing == (
        "hip internal rotation (left)",
        "pain location of the positive FABER test (left)",
    )


def test_insufficient_data_with_the_minimum_set_complete_names_the_unknown_flags() -> None:
    b2 = F().ir(30, 30).fadir(NEG, NEG).faber(NEG, NEG).slr(NEG, NEG).lbp(0).groin(0).kl(1, 1)
    b2.imaging(ImagingFinding.NORMAL).pain(None, 6)  # site-less pain blocks NO_FINDINGS
    a2 = assess(b2)
    assert a2.category is Category.INSUFFICIENT_DATA
    assert rec_codes(a2) == [COLLECT]
    named = a2.recommendations[0].missing
    assert named and all(":" in item for item in named)
    assert any(item.startswith("HIP_EXT_DEFICIT") for item in named)
    assert not any(item.startswith("RED_FLAG") for item in named)


def test_recommendations_follow_the_row_order_and_carry_a_reason() -> None:
    b = worked_example()
    b.kl_grade.clear()
    a = assess(b)
    assert rec_codes(a) == [COMBINED, XRAY]  # HIP_PROVOCATIVE and KL unknown
    assert all(r.reason and r.display == DISPLAY[r.code] for r in a.recommendations)
    assert "KL grade unknown" in a.recommendations[1].reason
