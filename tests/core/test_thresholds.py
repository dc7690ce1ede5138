"""The threshold register (clinical-spec.md §7) and the configurable [P] values."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from service.core import Thresholds, Tri
from service.core import thresholds as register
from tests.core.builders import F, flag


def test_the_defaults_are_the_registered_p_values() -> None:
    t = Thresholds()
    assert t.rotation_asymmetry_deg == register.ROT_ASYMMETRY_DEG == Decimal("10")
    assert t.extension_deficit_deg == register.EXT_DEFICIT_DEG == Decimal("0")
    assert t.contracture_deg == register.CONTRACTURE_DEG == Decimal("10")
    assert t.ia_positive_pct == register.IA_POSITIVE_PCT == Decimal("50")
    assert t.ia_strong_pct == register.IA_STRONG_PCT == Decimal("80")
    assert t.persistent_pain_nrs == register.PERSISTENT_PAIN_NRS == Decimal("4")
    assert t.pain_present_nrs == register.PAIN_PRESENT_NRS == Decimal("1")
    assert t.pi_pt_ss_tolerance_deg == register.PI_PT_SS_TOLERANCE_DEG == Decimal("5")


def test_the_verified_thresholds_are_the_spec_values() -> None:
    assert register.PI_LL_MALALIGNMENT_DEG == Decimal("10")
    assert register.RESTRICTED_IR_DEG == Decimal("15")
    assert register.HIP_OA_KL_MIN == Decimal("2")
    assert register.HIP_SEVERE_KL_MIN == Decimal("3")
    assert register.STIFF_DELTA_SS_DEG == Decimal("10")
    assert register.SIJ_CLUSTER_MIN == 3
    assert (register.MIC_NRS_POINTS, register.MIC_NRS_PCT) == (Decimal("2"), Decimal("30"))
    assert (register.MIC_ODI_POINTS, register.MIC_ODI_PCT) == (Decimal("10"), Decimal("30"))


def test_from_mapping_overrides_named_values_and_keeps_the_others() -> None:
    t = Thresholds.from_mapping({"rotation_asymmetry_deg": Decimal("12")})
    assert t.rotation_asymmetry_deg == Decimal("12")
    assert t.ia_positive_pct == Decimal("50")


def test_from_mapping_rejects_an_unknown_name_by_name() -> None:
    with pytest.raises(ValueError, match="no_such_threshold"):
        Thresholds.from_mapping({"no_such_threshold": Decimal("1")})


@pytest.mark.parametrize("bad", [10, 10.0, "10", Decimal("NaN"), Decimal("Infinity")])
def test_a_threshold_must_be_a_finite_decimal(bad: object) -> None:
    with pytest.raises(ValueError, match="rotation_asymmetry_deg"):
        Thresholds(rotation_asymmetry_deg=bad)  # type: ignore[arg-type]


def test_thresholds_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Thresholds().ia_strong_pct = Decimal("90")  # type: ignore[misc]


def test_a_configured_threshold_reaches_the_flags() -> None:
    asymmetric = F().ir(20, 42)  # 22° apart
    assert flag(asymmetric, "ROT_ASYMMETRY") is Tri.TRUE
    wide = Thresholds(rotation_asymmetry_deg=Decimal("25"))
    assert flag(asymmetric, "ROT_ASYMMETRY", wide) is Tri.FALSE
