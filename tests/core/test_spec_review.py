"""Clinical-informatics review against clinical-spec.md §0, §2–§7: the discrepancies found.

Each test is named as the spec sentence it enforces.
"""

from __future__ import annotations

from service.core import Category, ImagingFinding, PainLocation, Tri, UnsidedTest
from tests.core.builders import NEG, POS, F, assess, flag

T, FALSE, U = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN
SIJ = [
    UnsidedTest.SIJ_DISTRACTION,
    UnsidedTest.SIJ_THIGH_THRUST,
    UnsidedTest.SIJ_COMPRESSION,
    UnsidedTest.SIJ_SACRAL_THRUST,
    UnsidedTest.SIJ_GAENSLEN,
]


def _complete_normal_exam() -> F:
    """Every §5 minimum-set item recorded and normal, except the FABER under test."""
    return (
        F()
        .ir(30, 30)
        .fadir(NEG, NEG)
        .slr(NEG, NEG)
        .lbp(0)
        .groin(0)
        .kl(1, 1)
        .imaging(ImagingFinding.NORMAL)
    )


def test_a_positive_faber_without_pain_location_leaves_hip_provocative_unknown_not_false() -> None:
    # §0.2 + §2 HIP_PROVOCATIVE false-condition "FABER recorded (− or + without groin/anterior
    # pain)" + §5 minimum set "FABER (with pain location when positive)": the location of a
    # positive FABER is an input that can be missing, and missing is unknown, never false.
    assert flag(F().fadir(NEG, NEG).faber(left=POS), "HIP_PROVOCATIVE") is U
    assert flag(F().fadir(NEG, NEG).faber(NEG, POS), "HIP_PROVOCATIVE") is U
    # a located positive FABER elsewhere is still known "+ without groin/anterior pain"
    lateral = F().fadir(NEG, NEG).faber(left=POS, locations=(PainLocation.LATERAL,))
    assert flag(lateral, "HIP_PROVOCATIVE") is FALSE
    # and a FABER + with groin pain on either side still makes it true
    groin = F().fadir(NEG, NEG).faber(left=POS, locations=(PainLocation.GROIN_ANTERIOR,))
    assert flag(groin.faber(right=POS), "HIP_PROVOCATIVE") is T


def test_sij_signs_false_needs_faber_known_not_positive_with_posterior_pain() -> None:
    # §2 SIJ_SIGNS false: "≥ 3 of them − and FABER not + with posterior pain" (§0.2 "not X" =
    # known false); a positive FABER without a recorded pain location leaves it unknown.
    b = F()
    for test in SIJ[:3]:
        b.unsided(test, NEG)
    assert flag(b.faber(left=POS), "SIJ_SIGNS") is U


def test_a_positive_faber_without_pain_location_is_insufficient_data_naming_the_location() -> None:
    # §4 R11 needs "not HIP_SIGNS"; with the FABER location missing the case cannot be
    # NO_FINDINGS, and §5 INSUFFICIENT_DATA names "FABER (with pain location when positive)".
    a = assess(_complete_normal_exam().faber(left=POS))
    assert a.category is Category.INSUFFICIENT_DATA
    # E4-4: the red-flag screen comes first; rec-collect-missing-data is last (§5.3).
    assert a.recommendations[-1].missing == ("pain location of the positive FABER test (left)",)
    located = assess(_complete_normal_exam().faber(left=POS, locations=(PainLocation.LATERAL,)))
    assert located.category is Category.NO_FINDINGS


def test_pi_minus_ll_of_converted_angles_is_not_rounded_before_comparison() -> None:
    """§1.1: converted values are never rounded before comparison."""
    from decimal import Decimal

    from service.core import evaluate
    from service.core.assessment import RuleSet
    from service.core.findings import Findings, Measurement, Radiographic

    # 60-digit values such as a radians→degrees conversion yields; their exact difference is
    # 10 + 1e-50, which is "> 10". At Python's default 28 digits it would round to 10.000…
    pi = Decimal("50." + "0" * 49 + "1" + "0" * 8)
    ll = Decimal("40." + "0" * 58)
    findings = Findings(
        radiographic={
            Radiographic.PELVIC_INCIDENCE: Measurement(pi, "Observation/pi"),
            Radiographic.LUMBAR_LORDOSIS: Measurement(ll, "Observation/ll"),
        }
    )
    assessment = evaluate(findings, RuleSet("http://example.org/rules", "1"))
    codes = {c.code for c in assessment.conclusions}
    assert "schwab-pill-plus" in codes  # 10 ≤ PI−LL ≤ 20
    assert assessment.flags["SPINE_PATH"].value.value == "true"  # PI−LL > 10
