"""Examples for rules R5–R12 (secondary, simple by pathology, complex, not-HSS, insufficient),
and one for each new path of the fourth edition (AVN, replaced hip, lateral hip pain,
non-radicular SLR, groin pain with a negative hip exam, stale injection, failed physiotherapy,
short radicular episode)."""

from __future__ import annotations

from cases_primary import case
from inputs import (
    AVN,
    prior_physiotherapy,
    red_flag_screen,
    sided_pain,
    symptom_duration,
)

from service.samples.chart import Chart
from service.samples.codes import ICD10CM, SNOMED
from service.samples.findings import (
    kl_grades,
    no_extension_deficit,
    slr_negative,
    spine_angles,
)


def quiet_hips(c: Chart, ir: tuple[float, float] = (35, 36)) -> None:
    """A normal hip examination (left, right): IR ≥ 15°, FADIR and FABER negative both sides."""
    for side, degrees in zip(("left", "right"), ir, strict=True):
        c.rom("internal-rotation", side, degrees)
        c.test("fadir", side, False)
        c.test("faber", side, False)


def motor_normal(c: Chart) -> None:
    """Motor examination recorded normal (no myotomal weakness, no myelopathy signs)."""
    c.sign("myotomal-weakness", False)
    c.sign("myelopathy-signs", False)


@case(
    "secondary-structural",
    "pat-sec-struct",
    "Ingrid",
    "Berg",
    "female",
    "1960-12-01",
    gives="SECONDARY (STRUCTURAL)",
    plan=("rec-combined-hip-lumbar-management left",),
)
def secondary_structural(c: Chart) -> None:
    """R5: Thomas + left with 15° contracture, extension −5° left, LBP 6; KL 2 / 1 (HIP_PATH;
    the side with KL ≥ 2 is named) and no IA result, so R2–R4 cannot fire."""
    c.heart_rate(70)
    c.pain("site-low-back", 6)
    c.pain("site-groin", 2)
    c.test("thomas", "left", True)
    c.contracture("left", 15)
    c.rom("extension", "left", -5)
    c.test("thomas", "right", False)
    c.rom("extension", "right", 10)
    slr_negative(c)
    kl_grades(c, left=2, right=1)
    c.lumbar_imaging("normal")
    spine_angles(c, 52, 48)
    red_flag_screen(c)


@case(
    "secondary-structural-diebo-hip-spine",
    "pat-diebo",
    "Walter",
    "Brandt",
    "male",
    "1950-07-11",
    gives="SECONDARY (STRUCTURAL)",
    plan=("rec-ortho-hip-referral right", "rec-combined-hip-lumbar-management right"),
    findings=("diebo-hip-spine", "priority-hip-first"),
)
def secondary_structural_diebo_hip_spine(c: Chart) -> None:
    """R5 via Diebo HIP_SPINE: PI−LL 22° (measured; PI 62, LL 40) and KL 3 right; no extension
    deficit (Thomas − both, extension > 0° both); SVA 60 mm with KL 3: hip first."""
    c.heart_rate(76)
    c.pain("site-low-back", 5)
    c.pain("site-groin", 4)
    no_extension_deficit(c, (8, 10))
    kl_grades(c, left=1, right=3)
    spine_angles(c, 62, 40)
    for name, value in (
        ("pi-ll-mismatch", 22),
        ("pelvic-tilt-standing", 32),
        ("sacral-slope-standing", 30),
        ("sacral-slope-seated", 25),
        ("t1-pelvic-angle", 25),
    ):
        c.spinopelvic(name, value)
    c.spinopelvic("sva", 60, "mm")
    c.odi(38)
    red_flag_screen(c)


@case(
    "secondary-hip-driven",
    "pat-sec-hip",
    "Priya",
    "Raman",
    "female",
    "1955-03-28",
    gives="SECONDARY (HIP_DRIVEN)",
    plan=("rec-ortho-hip-referral left", "rec-combined-hip-lumbar-management left"),
)
def secondary_hip_driven(c: Chart) -> None:
    """R7: KL 3 / 2 and hip OA (ICD-10-CM M16.12), LBP 5; imaging normal and PI−LL 4°
    (SPINE_PATH false); SLR − both, motor signs absent; no extension deficit; IR 14° left
    (remeasured) and FADIR + left name the left hip."""
    c.heart_rate(82)
    c.condition((ICD10CM, "M16.12", "Unilateral primary osteoarthritis, left hip"), "2023-04-18")
    c.pain("site-low-back", 5)
    c.pain("site-groin", 6)
    c.rom("internal-rotation", "left", 12, when="2025-02-10T09:00:00Z")
    c.rom("internal-rotation", "left", 14)  # remeasured at this visit
    c.rom("internal-rotation", "right", 30)
    c.test("fadir", "left", True, location="groin-anterior")
    no_extension_deficit(c, (10, 12))
    slr_negative(c)
    kl_grades(c, left=3, right=2)
    c.lumbar_imaging("normal")
    spine_angles(c, 56, 52)
    red_flag_screen(c)


@case(
    "secondary-functional-worked-example",
    "pat-worked",
    "Anna",
    "Meyer",
    "female",
    "1970-10-10",
    gives="SECONDARY (FUNCTIONAL)",
    plan=("rec-red-flag-screen", "rec-combined-hip-lumbar-management left"),
    findings=("red-flag-screen-incomplete",),
)
def secondary_functional_worked_example(c: Chart) -> None:
    """R8, clinical-spec §8 exactly: LBP 6, groin 0, IR 10° / 32°, FADIR + left, FABER − both,
    SLR − both, KL 1 / 1, lumbar imaging normal; no red-flag item recorded, so the screen comes
    first (E4-4)."""
    c.pain("site-low-back", 6)
    c.pain("site-groin", 0)
    c.rom("internal-rotation", "left", 10)
    c.rom("internal-rotation", "right", 32)
    c.test("fadir", "left", True)
    c.test("faber", "left", False)
    c.test("faber", "right", False)
    slr_negative(c, motor=False)
    kl_grades(c, left=1, right=1)
    c.lumbar_imaging("normal")


@case(
    "secondary-functional-failed-physiotherapy",
    "pat-failed-physio",
    "Oliver",
    "Brennan",
    "male",
    "1968-05-02",
    gives="SECONDARY (FUNCTIONAL)",
    plan=("rec-diagnostic-ia-hip-injection left", "rec-ortho-hip-referral left"),
)
def secondary_functional_failed_physiotherapy(c: Chart) -> None:
    """R8, the §8 findings after a combined hip–lumbar programme that ended 2024-12-01 with LBP
    6 before and 6 now (pain persists, E4-16): escalation instead of the programme again — a
    diagnostic injection and an orthopaedic referral for the left hip."""
    c.heart_rate(70)
    c.pain("site-low-back", 6, when="2024-09-02T09:00:00Z")
    prior_physiotherapy(c, "2024-12-01")
    c.pain("site-low-back", 6)
    c.pain("site-groin", 0)
    c.rom("internal-rotation", "left", 10)
    c.rom("internal-rotation", "right", 32)
    c.test("fadir", "left", True)
    c.test("faber", "left", False)
    c.test("faber", "right", False)
    slr_negative(c)
    kl_grades(c, left=1, right=1)
    c.lumbar_imaging("normal")
    red_flag_screen(c)


@case(
    "simple-hip-primary-both-pathologies",
    "pat-hip-both",
    "Tomas",
    "Novak",
    "male",
    "1957-06-21",
    gives="SIMPLE_HIP_PRIMARY",
    plan=("rec-ortho-hip-referral left", "rec-combined-hip-lumbar-management left"),
)
def simple_hip_primary_both_pathologies(c: Chart) -> None:
    """R6: KL 3 / 2 and spondylolisthesis; hip signs (IR 6° left, FADIR + left) but no spine
    signs (SLR − both, motor absent); PI−LL 4°, no extension deficit."""
    c.heart_rate(69)
    c.pain("site-low-back", 3)
    c.pain("site-groin", 7)
    c.rom("internal-rotation", "left", 6)
    c.rom("internal-rotation", "right", 25)
    c.test("fadir", "left", True, location="groin-anterior")
    no_extension_deficit(c, (5, 10))
    slr_negative(c)
    c.sign("neurogenic-claudication", False)
    kl_grades(c, left=3, right=2)
    c.lumbar_imaging("spondylolisthesis")
    spine_angles(c, 54, 50)
    for name, value in (
        ("pelvic-tilt-standing", 18),
        ("sacral-slope-standing", 36),
        ("sacral-slope-seated", 20),
    ):
        c.spinopelvic(name, value)
    red_flag_screen(c)


@case(
    "complex",
    "pat-complex",
    "Jorge",
    "Alvarez",
    "male",
    "1953-09-14",
    gives="COMPLEX",
    plan=(
        "rec-diagnostic-ia-hip-injection left right",
        "rec-combined-hip-lumbar-management left right",
    ),
)
def complex_(c: Chart) -> None:
    """R6: KL 2 / 2 and lumbar stenosis; hip signs (IR 10° / 12°: restricted on both sides,
    FADIR + right) and spine signs (SLR + left, neurogenic claudication); no extension deficit,
    PI−LL 5°; recent imaging, so no MRI."""
    c.heart_rate(73)
    c.condition((SNOMED, "18347007", "Spinal stenosis"), "2024-10-02")
    c.pain("site-low-back", 7)
    c.pain("site-groin", 5)
    c.rom("internal-rotation", "left", 40, status="entered-in-error", when="2025-03-14T09:20:00Z")
    c.rom("internal-rotation", "left", 10)
    c.rom("internal-rotation", "right", 12)
    c.test("fadir", "right", True, location="groin-anterior")
    no_extension_deficit(c, (8, 10))
    c.test("slr", "left", True, slr_angle=50)
    c.sign("neurogenic-claudication", True)
    kl_grades(c, left=2, right=2)
    c.lumbar_imaging("stenosis", when="2025-01-30")
    spine_angles(c, 50, 45)
    c.odi(52)
    red_flag_screen(c)


@case(
    "complex-hip-oa-radiculopathy",
    "pat-complex-r7",
    "Fatima",
    "Haddad",
    "female",
    "1961-02-03",
    gives="COMPLEX",
    plan=(
        "rec-diagnostic-ia-hip-injection left right",
        "rec-combined-hip-lumbar-management left right",
    ),
)
def complex_hip_oa_radiculopathy(c: Chart) -> None:
    """R7: KL 2 left / 3 right, SLR + right; imaging normal and PI−LL 3° (SPINE_PATH false); no
    extension deficit; no hip sign recorded, so both hips with KL ≥ 2 are named."""
    c.heart_rate(71)
    c.pain("site-low-back", 4)
    c.pain("site-leg-below-knee", 6)
    c.test("slr", "right", True, slr_angle=40)
    c.test("slr", "left", False)
    no_extension_deficit(c, (10, 12))
    kl_grades(c, left=2, right=3)
    c.lumbar_imaging("normal")
    spine_angles(c, 48, 45)
    red_flag_screen(c)


@case(
    "complex-avn",
    "pat-complex-avn",
    "Hannah",
    "Kovac",
    "female",
    "1973-01-26",
    gives="COMPLEX",
    plan=(
        "rec-ortho-hip-referral left",
        "rec-imaging-hip-xray left",
        "rec-combined-hip-lumbar-management left",
    ),
    findings=("caution-no-hip-manual-therapy",),
)
def complex_avn(c: Chart) -> None:
    """R7: avascular necrosis of the left hip (Condition) with left groin pain, IR 12° left,
    FADIR + left, and SLR + left at 50°; KL not yet graded. AVN first (E4-22, Q10-13, Q11-04):
    urgent orthopaedic referral with hip MRI, then the radiograph, no diagnostic injection;
    the programme without hip mobilisation (E4-8)."""
    c.heart_rate(77)
    c.condition(AVN, "2025-02-18", side="left")
    c.pain("site-low-back", 5)
    sided_pain(c, "site-groin", "left", 6)
    c.rom("internal-rotation", "left", 12)
    c.rom("internal-rotation", "right", 30)
    c.test("fadir", "left", True, location="groin-anterior")
    c.test("slr", "left", True, slr_angle=50)
    c.test("slr", "right", False)
    motor_normal(c)
    c.lumbar_imaging("normal", when="2025-01-15")
    spine_angles(c, 50, 47)
    red_flag_screen(c)


@case(
    "complex-stale-injection",
    "pat-stale-ia",
    "Peter",
    "Lindqvist",
    "male",
    "1959-10-08",
    gives="COMPLEX",
    plan=(
        "rec-diagnostic-ia-hip-injection right",
        "rec-combined-hip-lumbar-management right",
    ),
)
def complex_stale_injection(c: Chart) -> None:
    """R8: FADIR + right with right groin pain, lumbar stenosis, SLR + left; the only injection
    (20 % relief) was in June 2023, more than 12 months ago (E4-12): not used, repeat it."""
    c.heart_rate(75)
    c.pain("site-low-back", 7)
    sided_pain(c, "site-groin", "right", 5)
    c.test("fadir", "right", True, location="groin-anterior")
    c.test("slr", "left", True, slr_angle=35)
    kl_grades(c, left=1, right=1)
    c.lumbar_imaging("stenosis", when="2025-02-02")
    c.ia_relief(20, "2023-06-20")
    red_flag_screen(c)


@case(
    "not-hss-spine",
    "pat-spine-only",
    "Daniel",
    "Cohen",
    "male",
    "1984-12-12",
    gives="NOT_HSS_SPINE",
    plan=("rec-lbp-first-line-care",),
)
def not_hss_spine(c: Chart) -> None:
    """R9: LBP 7, disc herniation (recent: no MRI), SLR + right; hip normal (ROM panels IR 35° /
    38°, FADIR and FABER − both, groin 0, KL 0 / 1, Thomas − both, extension 15°)."""
    c.heart_rate(62)
    c.pain("site-low-back", 8, when="2025-02-01T09:00:00Z")
    c.pain("site-low-back", 7)
    c.pain("site-leg-below-knee", 6)
    c.pain("site-groin", 0)
    for side, ir in (("left", 35), ("right", 38)):
        motions = {"flexion": 115, "extension": 15, "internal-rotation": ir}
        c.rom_panel(side, motions | {"external-rotation": 40})
        c.test("fadir", side, False)
        c.test("faber", side, False)
        c.test("thomas", side, False)
    c.test("slr", "right", True, slr_angle=40)
    c.sign("dermatomal-sensory-loss", True)
    kl_grades(c, left=0, right=1)
    c.lumbar_imaging("disc-herniation", when="2025-03-01")
    spine_angles(c, 48, 50)
    c.odi(44)
    red_flag_screen(c)


@case(
    "not-hss-spine-replaced-hip",
    "pat-thr-right",
    "George",
    "Abara",
    "male",
    "1947-04-14",
    gives="NOT_HSS_SPINE",
    plan=("rec-lbp-first-line-care",),
    findings=("caution-no-hip-manual-therapy",),
)
def not_hss_spine_replaced_hip(c: Chart) -> None:
    """R9: right hip replaced 2021; its KL 4, IR 5° and FADIR + are excluded (E4-9), so the hip
    examination is the native left one, normal; LBP 6, SLR − both; first-line care without
    manual therapy, naming the hip replacement (E4-8)."""
    c.heart_rate(68)
    c.hip_replacement("right", "2021-09-12")
    c.pain("site-low-back", 6)
    c.pain("site-groin", 0)
    c.kl("right", 4)
    c.rom("internal-rotation", "right", 5)
    c.test("fadir", "right", True)
    c.kl("left", 1)
    c.rom("internal-rotation", "left", 30)
    c.test("fadir", "left", False)
    c.test("faber", "left", False)
    slr_negative(c)
    c.lumbar_imaging("normal")
    spine_angles(c, 50, 46)
    red_flag_screen(c)


@case(
    "not-hss-spine-non-radicular-slr",
    "pat-slr-80",
    "Sofia",
    "Marino",
    "female",
    "1990-08-17",
    gives="NOT_HSS_SPINE",
    plan=("rec-lbp-first-line-care",),
)
def not_hss_spine_non_radicular_slr(c: Chart) -> None:
    """R9: LBP 5 and an SLR + right only at 80° (tight hamstrings, not radicular: E4-7), SLR −
    left, motor examination normal, hips normal; no radicular finding, so no lumbar MRI."""
    c.heart_rate(64)
    c.pain("site-low-back", 5)
    c.pain("site-groin", 0)
    quiet_hips(c)
    c.test("slr", "right", True, slr_angle=80, location="posterior")
    c.test("slr", "left", False)
    motor_normal(c)
    red_flag_screen(c)


@case(
    "not-hss-spine-groin-pain-negative-hip-exam",
    "pat-groin-non-hip",
    "Marcus",
    "Feld",
    "male",
    "1982-03-09",
    gives="NOT_HSS_SPINE",
    plan=("rec-lbp-first-line-care",),
    findings=("note-groin-pain-non-hip",),
)
def not_hss_spine_groin_pain_negative_hip_exam(c: Chart) -> None:
    """R9: LBP 5 and right groin pain 5, but the hip examination is negative on both sides (IR
    35° / 36°, FADIR and FABER −): groin pain is not a hip sign (E4-10); the note names other
    groin sources (upper lumbar radiculopathy, hernia, adductor-related pain)."""
    c.heart_rate(66)
    c.pain("site-low-back", 5)
    sided_pain(c, "site-groin", "right", 5)
    quiet_hips(c)
    slr_negative(c)
    c.lumbar_imaging("normal")
    spine_angles(c, 51, 48)
    red_flag_screen(c)


@case(
    "not-hss-spine-short-radicular-episode",
    "pat-short-episode",
    "Leila",
    "Nasser",
    "female",
    "1986-11-21",
    gives="NOT_HSS_SPINE",
    plan=("rec-lbp-first-line-care",),
)
def not_hss_spine_short_radicular_episode(c: Chart) -> None:
    """R9: sciatica for 3 weeks (SLR + right at 45° with pain below the knee), motor examination
    recorded normal, no lumbar imaging: the MRI is deferred (E4-13, Q10-05) — first-line care
    with the safety net (return at once with saddle numbness, bladder or bowel change, or leg
    weakness)."""
    c.heart_rate(72)
    c.pain("site-low-back", 5)
    c.pain("site-leg-below-knee", 7)
    c.pain("site-groin", 0)
    quiet_hips(c)
    c.test("slr", "right", True, slr_angle=45, location="below-knee")
    c.test("slr", "left", False)
    motor_normal(c)
    symptom_duration(c, 3)
    red_flag_screen(c)


@case(
    "not-hss-hip",
    "pat-hip-only",
    "Margaret",
    "Evans",
    "female",
    "1948-05-06",
    gives="NOT_HSS_HIP",
    plan=("rec-ortho-hip-referral right", "rec-hip-first-line-care right"),
)
def not_hss_hip(c: Chart) -> None:
    """R10: hip OA (KL 3 right, Condition), groin 6, IR 8° right, FADIR + right; LBP 0, SLR −
    both, motor signs absent, no spinal imaging; first-line hip care and, with KL 3, a referral
    for the right hip."""
    c.heart_rate(75)
    c.condition((SNOMED, "239872002", "Osteoarthritis of hip"), "2024-06-11", side="right")
    c.pain("site-low-back", 0)
    c.pain("site-groin", 6)
    c.rom("internal-rotation", "right", 8)
    c.rom("internal-rotation", "left", 30)
    c.test("fadir", "right", True, location="groin-anterior")
    c.test("faber", "right", True, location="groin-anterior")
    c.test("thomas", "left", False)
    c.test("thomas", "right", False)
    slr_negative(c)
    kl_grades(c, left=1, right=3)
    red_flag_screen(c)


@case(
    "not-hss-hip-lateral-hip-pain",
    "pat-lateral-hip",
    "Ruth",
    "Adeyemi",
    "female",
    "1966-06-05",
    gives="NOT_HSS_HIP",
    plan=("rec-gluteal-tendinopathy-care right",),
    findings=("gluteal-signs",),
)
def not_hss_hip_lateral_hip_pain(c: Chart) -> None:
    """R10 (Q4-22): right lateral hip pain 6, greater-trochanter palpation + right, single-leg
    stance 30 s + right (E4-11); hip joint and spine examinations normal, LBP 0: the
    gluteal-tendinopathy pathway for the right side only, no radiograph."""
    c.heart_rate(70)
    sided_pain(c, "site-lateral-hip", "right", 6)
    c.pain("site-low-back", 0)
    c.pain("site-groin", 0)
    quiet_hips(c)
    c.test("greater-trochanter-palpation", "right", True)
    c.test("greater-trochanter-palpation", "left", False)
    c.test("single-leg-stance-30s", "right", True)
    slr_negative(c)
    red_flag_screen(c)


@case(
    "insufficient-data",
    "pat-insufficient",
    "Kwame",
    "Mensah",
    "male",
    "1975-08-19",
    gives="INSUFFICIENT_DATA",
    plan=("rec-red-flag-screen", "rec-collect-missing-data"),
    findings=("red-flag-screen-incomplete",),
)
def insufficient_data(c: Chart) -> None:
    """R12: thigh pain 5, left IR 25° and ODI 30 % only; LBP, hip path, hip and spine signs all
    unknown; no red-flag item recorded: the screen first, then the missing items."""
    c.heart_rate(80)
    c.pain("site-thigh", 5)
    c.rom("internal-rotation", "left", 25)
    c.odi(30)
