"""Examples for rules R5–R12 (secondary, simple by pathology, complex, not-HSS, insufficient)."""

from __future__ import annotations

from cases_primary import case

from service.samples.chart import Chart
from service.samples.codes import ICD10CM, SNOMED
from service.samples.findings import (
    kl_grades,
    negative_red_flags,
    no_extension_deficit,
    slr_negative,
    spine_angles,
)


@case("secondary-structural", "pat-sec-struct", "Ingrid", "Berg", "female", "1960-12-01")
def secondary_structural(c: Chart) -> None:
    """SECONDARY (STRUCTURAL) (R5): Thomas + left with 15° contracture, extension −5° left,
    LBP 6; KL 2 / 1 (HIP_PATH) and no IA result, so R2–R4 cannot fire."""
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
    negative_red_flags(c)


@case("secondary-structural-diebo-hip-spine", "pat-diebo", "Walter", "Brandt", "male", "1950-07-11")
def secondary_structural_diebo_hip_spine(c: Chart) -> None:
    """SECONDARY (STRUCTURAL) (R5 via Diebo HIP_SPINE): PI−LL 22° (measured; PI 62, LL 40) and
    KL 3 right; no extension deficit (Thomas − both, extension > 0° both)."""
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
    negative_red_flags(c)


@case("secondary-hip-driven", "pat-sec-hip", "Priya", "Raman", "female", "1955-03-28")
def secondary_hip_driven(c: Chart) -> None:
    """SECONDARY (HIP_DRIVEN) (R7): KL 3 / 2 and hip OA (ICD-10-CM M16.12), LBP 5; imaging
    normal and PI−LL 4° (SPINE_PATH false); SLR − both, motor signs absent; no extension deficit."""
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
    negative_red_flags(c)


@case("secondary-functional-worked-example", "pat-worked", "Anna", "Meyer", "female", "1970-10-10")
def secondary_functional_worked_example(c: Chart) -> None:
    """SECONDARY (FUNCTIONAL) (R8), clinical-spec §8 exactly: LBP 6, groin 0, IR 10° / 32°,
    FADIR + left, FABER − both, SLR − both, KL 1 / 1, lumbar imaging normal."""
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


@case("simple-hip-primary-both-pathologies", "pat-hip-both", "Tomas", "Novak", "male", "1957-06-21")
def simple_hip_primary_both_pathologies(c: Chart) -> None:
    """SIMPLE_HIP_PRIMARY (R6): KL 3 / 2 and spondylolisthesis; hip signs (IR 6° left, FADIR +)
    but no spine signs (SLR − both, motor absent); PI−LL 4°, no extension deficit."""
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
    negative_red_flags(c)


@case("complex", "pat-complex", "Jorge", "Alvarez", "male", "1953-09-14")
def complex_(c: Chart) -> None:
    """COMPLEX (R6): KL 2 / 2 and lumbar stenosis; hip signs (IR 10° / 12°, FADIR + right) and
    spine signs (SLR + left, neurogenic claudication); no extension deficit, PI−LL 5°."""
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
    negative_red_flags(c)


@case("complex-hip-oa-radiculopathy", "pat-complex-r7", "Fatima", "Haddad", "female", "1961-02-03")
def complex_hip_oa_radiculopathy(c: Chart) -> None:
    """COMPLEX (R7): KL 3 right, SLR + right; imaging normal and PI−LL 3° (SPINE_PATH false);
    no extension deficit."""
    c.heart_rate(71)
    c.pain("site-low-back", 4)
    c.pain("site-leg-below-knee", 6)
    c.test("slr", "right", True, slr_angle=40)
    c.test("slr", "left", False)
    no_extension_deficit(c, (10, 12))
    kl_grades(c, left=2, right=3)
    c.lumbar_imaging("normal")
    spine_angles(c, 48, 45)
    negative_red_flags(c)


@case("not-hss-spine", "pat-spine-only", "Daniel", "Cohen", "male", "1984-12-12")
def not_hss_spine(c: Chart) -> None:
    """NOT_HSS_SPINE (R9): LBP 7, disc herniation, SLR + right; hip normal (ROM panels IR 35° /
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
    negative_red_flags(c)


@case("not-hss-hip", "pat-hip-only", "Margaret", "Evans", "female", "1948-05-06")
def not_hss_hip(c: Chart) -> None:
    """NOT_HSS_HIP (R10): hip OA (KL 3 right, Condition), groin 6, IR 8° right, FADIR + right;
    LBP 0, SLR − both, motor signs absent, no spinal imaging."""
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
    negative_red_flags(c)


@case("insufficient-data", "pat-insufficient", "Kwame", "Mensah", "male", "1975-08-19")
def insufficient_data(c: Chart) -> None:
    """INSUFFICIENT_DATA (R12): thigh pain 5, left IR 25° and ODI 30 % only; LBP, hip path,
    hip and spine signs all unknown."""
    c.heart_rate(80)
    c.pain("site-thigh", 5)
    c.rom("internal-rotation", "left", 25)
    c.odi(30)
