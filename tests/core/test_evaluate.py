"""evaluate() end to end (clinical-spec.md §4–§6, §8): the worked example, conclusions, trace,
missing items and the plain-words summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.core import (
    Category,
    ImagingFinding,
    Radiographic,
    RedFlag,
    RuleSet,
    Subtype,
    Thresholds,
    Tri,
    evaluate,
)
from service.core.summary import NO_ACTION, SUCCESS_CRITERION
from tests.core.builders import NEG, RULE_SET, F, assess, codes, rec_codes, worked_example


def test_the_worked_example_of_section_8_is_secondary_functional() -> None:
    a = assess(worked_example())
    assert (a.category, a.subtype, a.rule) == (Category.SECONDARY, Subtype.FUNCTIONAL, "R8")
    assert rec_codes(a) == ["rec-combined-hip-lumbar-management"]  # KL known: no hip X-ray
    values = {name: a.flags[name].value for name in a.flags}
    assert values["HIP_PATH"] is Tri.FALSE
    assert values["HIP_SIGNS"] is Tri.TRUE
    assert values["SPINE_SIGNS"] is Tri.FALSE
    for sign in ("RESTRICTED_IR", "ROT_ASYMMETRY", "HIP_PROVOCATIVE"):
        assert values[sign] is Tri.TRUE
    assert codes(a) == ["category-secondary", "subtype-functional", "offierski-secondary"]


def test_the_rule_set_is_carried_and_thresholds_default_to_the_register() -> None:
    findings = worked_example().build()
    a = evaluate(findings, RULE_SET)
    assert a.rule_set == RULE_SET
    assert a.rule_set.canonical.endswith("|1.0.0")
    assert a == evaluate(findings, RULE_SET, Thresholds())
    other = RuleSet(RULE_SET.url, "2.0.0")
    assert evaluate(findings, other).rule_set == other


def test_the_category_basis_names_the_rule_its_condition_and_the_sources() -> None:
    basis = assess(worked_example()).conclusions[0].basis
    assert basis.startswith("R8: HIP_PATH not true and HIP_SIGNS")
    assert "→ SECONDARY (FUNCTIONAL)" in basis
    assert "Observation/kl-left" in basis
    assert "Observation/nrs-site-low-back-0" in basis


def test_the_trace_holds_every_flag_measure_classification_rule_and_recommendation() -> None:
    a = assess(worked_example())
    rules = [s.rule for s in a.trace]
    for name in a.flags:
        assert name in rules
    for step in ("KL_MAX", "IA_RELIEF", "PI_LL", "Diebo type", "Hip-Spine class", "R8"):
        assert step in rules
    assert "rec-combined-hip-lumbar-management" in rules
    flag_steps = {s.rule: s for s in a.trace if s.rule in a.flags}
    assert flag_steps["LBP"].verdict == "true"
    assert all(s.verdict in {"true", "false", "unknown"} for s in flag_steps.values())


def test_classifications_are_attached_when_computable_in_a_fixed_order() -> None:
    b = worked_example().pi_ll("50", "45").ss("40", "25").radio(Radiographic.SVA, "20")
    b.radio(Radiographic.PELVIC_TILT_STANDING, "12")
    a = assess(b)
    assert codes(a) == [
        "category-secondary",
        "subtype-functional",
        "offierski-secondary",
        "diebo-unclassified",
        "hip-spine-class-1a",
        "schwab-pill-0",
        "schwab-pt-0",
        "schwab-sva-0",
    ]
    assert a.missing == ()
    assert "Diebo type UNCLASSIFIED" in a.summary


def test_classifications_are_attached_to_a_red_flag_too_but_not_priorities() -> None:
    a = assess(F().kl(3, 3).pi_ll("60", "40").red(RedFlag.SADDLE_ANAESTHESIA))
    assert codes(a) == [
        "category-red-flag",
        "urgency-emergency",
        "diebo-hip-spine",
        "schwab-pill-plus",
    ]
    assert rec_codes(a) == ["rec-urgent-evaluation", "rec-mri-lumbar-urgent"]
    assert "do not delay" in a.summary


def test_the_summary_states_category_flags_recommendations_missing_and_success_criterion() -> None:
    s = assess(worked_example()).summary
    assert s.startswith("Secondary hip–spine syndrome (functional) (rule R8).")
    assert "Flags true: LBP, RESTRICTED_IR, ROT_ASYMMETRY, HIP_PROVOCATIVE, HIP_SIGNS." in s
    assert "Recommended: Combined hip–lumbar physiotherapy programme." in s
    assert "Missing: Diebo type: needs PI−LL" in s
    assert SUCCESS_CRITERION == "NRS −2 points or −30 %; ODI −10 points or −30 %"
    assert f"Follow-up success criterion: {SUCCESS_CRITERION}." in s


def _no_findings() -> F:
    b = F().ir(30, 30).fadir(NEG, NEG).faber(NEG, NEG).groin(0).slr(NEG, NEG).lbp(0).kl(1, 1)
    return b.imaging(ImagingFinding.NORMAL)


def test_without_recommendations_the_summary_says_no_action_is_recommended() -> None:
    a = assess(_no_findings())
    assert a.category is Category.NO_FINDINGS
    assert a.recommendations == ()
    assert NO_ACTION in a.summary
    assert SUCCESS_CRITERION in a.summary
    assert NO_ACTION not in assess(worked_example()).summary


def test_insufficient_data_summary_lists_what_to_collect() -> None:
    s = assess(F()).summary
    assert s.startswith("Insufficient data (rule R12).")
    assert "Recommended: Collect missing data; Hip radiographs with KL grading." in s
    assert "hip internal rotation (left, right)" in s


def test_an_assessment_is_frozen_and_its_mappings_read_only() -> None:
    a = assess(worked_example())
    with pytest.raises(TypeError):
        a.flags["LBP"] = a.flags["GROIN_PAIN"]  # type: ignore[index]
    with pytest.raises(TypeError):
        a.extra["x"] = "y"  # type: ignore[index]


_REPR_SCRIPT = """
from service.core import UnsidedTest, TreatmentKind, RedFlag
from tests.core.builders import POS, NEG, assess, worked_example
b = worked_example().unsided(UnsidedTest.SIJ_GAENSLEN, POS)
b.unsided(UnsidedTest.SIJ_COMPRESSION, NEG).unsided(UnsidedTest.SIJ_DISTRACTION, NEG)
b.denied(TreatmentKind.HIP_ARTHROSCOPY).denied(TreatmentKind.HIP_ARTHROPLASTY)
b.red(RedFlag.FEVER, False)
print(repr(assess(b)))
"""


def test_the_assessment_is_byte_for_byte_the_same_under_any_hash_seed() -> None:
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _REPR_SCRIPT],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
    assert "category-secondary" in outputs.pop()
