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
    Flag,
    ImagingFinding,
    Radiographic,
    RedFlag,
    RuleSet,
    Side,
    SidedTest,
    Subtype,
    Thresholds,
    TreatmentKind,
    Tri,
    evaluate,
)
from service.core.conclusions import CATEGORY_DISPLAY, safety_notes
from service.core.summary import NO_FINDINGS_WORDS, SUCCESS_CRITERION, render_text
from tests.core.builders import NEG, RULE_SET, F, assess, codes, rec_codes, worked_example


def test_the_worked_example_of_section_8_is_secondary_functional() -> None:
    a = assess(worked_example())
    assert (a.category, a.subtype, a.rule) == (Category.SECONDARY, Subtype.FUNCTIONAL, "R8")
    # KL known: no hip X-ray; no red-flag item recorded: the screen first (§8, E4-4).
    assert rec_codes(a) == ["rec-red-flag-screen", "rec-combined-hip-lumbar-management"]
    values = {name: a.flags[name].value for name in a.flags}
    assert values["HIP_PATH"] is Tri.FALSE
    assert values["HIP_SIGNS"] is Tri.TRUE
    assert values["SPINE_SIGNS"] is Tri.FALSE
    for sign in ("RESTRICTED_IR", "ROT_ASYMMETRY", "HIP_PROVOCATIVE"):
        assert values[sign] is Tri.TRUE
    assert codes(a) == [
        "category-secondary",
        "subtype-functional",
        "offierski-secondary",
        "red-flag-screen-incomplete",
    ]
    screened = assess(_screened(worked_example()))
    assert rec_codes(screened) == ["rec-combined-hip-lumbar-management"]
    assert "red-flag-screen-incomplete" not in codes(screened)


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
        "red-flag-screen-incomplete",
    ]
    assert not any("PI" in m for m in a.missing)
    assert "Diebo type unclassified" in a.summary  # plain words (E4-19)


def test_classifications_are_attached_to_a_red_flag_too_but_not_priorities() -> None:
    a = assess(F().kl(3, 3).pi_ll("60", "40").red(RedFlag.SADDLE_ANAESTHESIA))
    assert codes(a) == [
        "category-red-flag",
        "urgency-emergency",
        "red-flag-emergency",  # E4-2, E4-3: the red-flag kind
        "diebo-hip-spine",
        "schwab-pill-plus",
    ]
    assert rec_codes(a) == ["rec-urgent-evaluation", "rec-mri-lumbar-urgent"]
    assert "Do not delay the work-up" in a.summary


def test_q4_44_e4_19_the_summary_begins_with_the_lead_and_names_no_flag() -> None:
    a = assess(_screened(worked_example()))
    assert a.lead == (
        "The left hip may be contributing to the low back pain (internal rotation 10° left "
        "against 32° right; FADIR positive left). Next: a combined hip–lumbar physiotherapy "
        "programme; re-assess in 6 weeks."
    )
    assert a.summary.startswith(a.lead)
    assert a.review_weeks == 6
    for name in a.flags:
        assert name not in a.summary
    assert "R8" not in a.summary and "Observation/" not in a.summary
    assert SUCCESS_CRITERION == "NRS −2 points or −30 %; ODI −10 points or −30 %"
    assert f"follow-up success criterion: {SUCCESS_CRITERION}." in a.summary
    assert "Certainty of the evidence: very low." in a.summary  # Q10-11


def test_q4_44_the_lead_is_at_most_two_sentences_with_the_screen_first() -> None:
    a = assess(worked_example())
    assert a.lead.endswith(
        "Next: complete the red-flag screen; a combined hip–lumbar physiotherapy programme; "
        "re-assess in 6 weeks."
    )
    assert a.lead.count(". ") <= 1


def test_q10_02_an_emergency_red_flag_leads_with_refer_now() -> None:
    a = assess(F().red(RedFlag.SADDLE_ANAESTHESIA))
    assert a.lead == (
        "Emergency: refer now (emergency department): possible cauda equina syndrome (saddle "
        "anaesthesia). Next: same-day emergency evaluation; emergency MRI of the lumbar spine."
    )
    assert "urgency-emergency" in codes(a)
    urgency = next(c for c in a.conclusions if c.code == "urgency-emergency")
    assert urgency.display == "Emergency: refer now (emergency department)"
    assert a.review_weeks is None


def test_e4_24_misdiagnosed_lead_says_pain_persists_after_never_failed() -> None:
    b = _screened(worked_example()).treated(TreatmentKind.LUMBAR_SURGERY).lbp(7)
    a = assess(b)
    assert a.category is Category.MISDIAGNOSED_HIP_MISSED
    assert a.lead.startswith("Pain persists after the lumbar surgery; the left hip")
    assert "failed" not in a.summary.lower()


@pytest.mark.parametrize(
    ("category", "display"),
    [
        (Category.RED_FLAG, "Possible serious pathology: urgent evaluation first"),
        (
            Category.MISDIAGNOSED_HIP_MISSED,
            "Pain persists after spine treatment; the hip has not been addressed (Offierski & "
            "MacNab: misdiagnosed)",
        ),
        (Category.NOT_HSS_SPINE, "Spine problem; no hip involvement found"),  # Q10-10
        (Category.NOT_HSS_HIP, "Hip problem; no back involvement found"),  # Q10-11
        (
            Category.INDETERMINATE_NOT_HIP,
            "The hip injection did not relieve the pain; the hip is unlikely to be the source",
        ),
        (
            Category.SECONDARY,
            "The hip may be contributing to the back pain (Offierski & MacNab: secondary — "
            "functional / structural / hip-driven)",
        ),
        (Category.INSUFFICIENT_DATA, "Not enough data to decide"),
    ],
)
def test_q4_45_category_displays_are_plain_words(category: Category, display: str) -> None:
    """Q4-45 (amended by Q10-10, Q10-11; E4-24): one format, plain words."""
    assert CATEGORY_DISPLAY[category] == display


def test_e4_26_q4_40_missing_lists_the_screen_first_then_the_examination() -> None:
    a = assess(F().lbp(5))
    assert a.category is Category.INSUFFICIENT_DATA
    assert a.missing[0] == "saddle anaesthesia (red-flag screen)"
    screen = [i for i, m in enumerate(a.missing) if m.endswith("(red-flag screen)")]
    exam = a.missing.index("hip internal rotation (left, right)")
    assert screen == list(range(7)) and exam == 7
    # Q4-40: radiographic parameters only when they could decide (SPINE_PATH unknown here).
    assert a.missing[-1].startswith("PI−LL")
    assert not any(m.startswith("Diebo") or m.startswith("SRS") for m in a.missing)


def test_q4_40_radiographic_parameters_are_missing_with_severe_hip_oa() -> None:
    a = assess(_screened(worked_example()).kl(3, 1))
    assert any(m.startswith("Diebo type") for m in a.missing)
    assert any(m.startswith("Hip-Spine class") for m in a.missing)


def test_e4_10_q10_10_groin_pain_with_a_negative_hip_exam_is_noted() -> None:
    flags = {
        "GROIN_PAIN": Flag("GROIN_PAIN", Tri.TRUE, "groin 5"),
        "HIP_EXAM_NEGATIVE": Flag("HIP_EXAM_NEGATIVE", Tri.TRUE, "all negative"),
        "RED_FLAG_SCREEN_COMPLETE": Flag("RED_FLAG_SCREEN_COMPLETE", Tri.TRUE, ""),
    }
    notes = safety_notes(Category.NOT_HSS_SPINE, flags, [])
    assert [c.code for c in notes] == ["note-groin-pain-non-hip"]
    text = notes[0].display
    for words in (
        "upper lumbar radiculopathy",
        "inguinal hernia",
        "stress fracture",
        "osteonecrosis",
        "AP pelvis radiograph",
        "femoral nerve stretch test",
    ):
        assert words in text


def test_q4_37_e4_8_the_manual_therapy_caution_needs_a_programme_in_the_plan() -> None:
    flags = {
        "MT_CAUTION": Flag("MT_CAUTION", Tri.TRUE, "AVN"),
        "RED_FLAG_SCREEN_COMPLETE": Flag("RED_FLAG_SCREEN_COMPLETE", Tri.TRUE, ""),
    }
    with_plan = safety_notes(Category.COMPLEX, flags, ["rec-combined-hip-lumbar-management"])
    assert [c.code for c in with_plan] == ["caution-no-hip-manual-therapy"]
    assert safety_notes(Category.COMPLEX, flags, ["rec-ortho-hip-referral"]) == []
    assert safety_notes(Category.RED_FLAG, flags, ["rec-combined-hip-lumbar-management"]) == []


def test_q4_10_no_findings_has_no_screen_note_and_e4_11_gluteal_signs_are_noted() -> None:
    flags = {
        "RED_FLAG_SCREEN_COMPLETE": Flag("RED_FLAG_SCREEN_COMPLETE", Tri.UNKNOWN, ""),
        "GLUTEAL_SIGNS": Flag("GLUTEAL_SIGNS", Tri.TRUE, ""),
    }
    assert [c.code for c in safety_notes(Category.NO_FINDINGS, flags, [])] == ["gluteal-signs"]
    assert [c.code for c in safety_notes(Category.NOT_HSS_HIP, flags, [])] == [
        "red-flag-screen-incomplete",
        "gluteal-signs",
    ]


def test_the_cli_text_shows_lead_plan_missing_and_the_trace_only_on_request() -> None:
    a = assess(worked_example())
    text = render_text(a, ("Observation/x excluded: no side",))
    assert text.startswith(a.lead)
    assert "Plan:\n  1. Complete the red-flag screen: Before treatment starts" in text
    assert "Missing (most important first):" in text
    assert "Observation/x excluded" in text  # warnings name the input
    assert "Trace:" not in text and "HIP_SIGNS" not in text and "R8" not in text
    traced = render_text(a, (), trace=True)
    head, trace = traced.split("Trace:")
    assert "HIP_SIGNS" not in head
    assert "rule R8" in trace and "HIP_SIGNS: true" in trace


def _screened(b: F) -> F:
    """The seven screen items of Q4-31 recorded false."""
    for item in (
        RedFlag.SADDLE_ANAESTHESIA,
        RedFlag.BLADDER_DYSFUNCTION,
        RedFlag.FAECAL_INCONTINENCE,
        RedFlag.CANCER_HISTORY,
        RedFlag.FEVER,
        RedFlag.WEIGHT_LOSS,
        RedFlag.SIGNIFICANT_TRAUMA,
    ):
        b.red(item, False)
    return b


def _no_findings() -> F:
    b = F().ir(30, 30).fadir(NEG, NEG).faber(NEG, NEG).groin(0).slr(NEG, NEG).lbp(0).kl(1, 1)
    return b.imaging(ImagingFinding.NORMAL)


def test_e4_21_no_findings_says_so_and_findings_never_get_no_action() -> None:
    a = assess(_no_findings())
    assert a.category is Category.NO_FINDINGS
    assert a.recommendations == ()  # Q4-10: not even the red-flag screen
    assert a.lead == NO_FINDINGS_WORDS
    assert SUCCESS_CRITERION in a.summary
    assert "no action" not in assess(worked_example()).summary.lower()


def test_insufficient_data_summary_lists_what_to_collect() -> None:
    s = assess(F()).summary
    assert s.startswith("Not enough data to decide. Next: complete the red-flag screen; record")
    assert "Record the missing findings: Measure and record: hip internal rotation" in s
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


def test_e4_19_the_summary_names_no_resource_id_even_for_a_data_quality_warning() -> None:
    b = _screened(worked_example()).radio(Radiographic.PELVIC_INCIDENCE, "50")
    b.radio(Radiographic.PELVIC_TILT_STANDING, "20").radio(Radiographic.SACRAL_SLOPE_STANDING, "40")
    a = assess(b)
    assert "Observation/" in a.data_quality[0]  # the warning itself names the inputs
    assert "Data quality: PI ≠ PT + SS: PI 50°" in a.summary
    assert "Observation/" not in a.summary


def test_e4_26_a_missing_examination_item_is_listed_in_any_category() -> None:
    b = _screened(worked_example())
    b.sided_tests.pop((SidedTest.SLR, Side.LEFT))
    b.sided_tests.pop((SidedTest.SLR, Side.RIGHT))
    a = assess(b)
    assert a.category is Category.SECONDARY
    assert a.missing[0] == "straight leg raise (SLR)"  # it could make the case COMPLEX
