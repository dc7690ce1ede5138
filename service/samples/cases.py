"""Synthetic patient templates, one or more per clinical-spec.md §4 category, varied by a seed.

Each template draws its values from ranges that keep the category it promises (worked from §2
and §4 with the margins shown in comments), both sides measured where §1.2 wants a side. The
examples/ Bundles are the verified fixed versions of the same stories, built from the same
chart (sample_chart.py) and shared findings (sample_findings.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from service.samples.chart import Chart
from service.samples.codes import ICD10CM, SNOMED
from service.samples.findings import (
    kl_grades,
    negative_red_flags,
    no_extension_deficit,
    quiet_hip,
    sij_three_of_five,
    slr_negative,
    spine_angles,
)


@dataclass(frozen=True)
class Template:
    name: str
    category: str  # the service.core Category name it must give
    subtype: str | None
    min_age: int
    max_age: int
    fill: Callable[[Chart, random.Random, date], None]


TEMPLATES: list[Template] = []


def template(
    category: str, subtype: str | None = None, ages: tuple[int, int] = (40, 80)
) -> Callable[[Callable[[Chart, random.Random, date], None]], Callable[..., None]]:
    def register(fill: Callable[[Chart, random.Random, date], None]) -> Callable[..., None]:
        name = fill.__name__.strip("_").replace("_", "-")
        TEMPLATES.append(Template(name, category, subtype, ages[0], ages[1], fill))
        return fill

    return register


def sides(rng: random.Random) -> tuple[str, str]:
    """(affected side, other side), drawn."""
    first, second = rng.sample(["left", "right"], 2)
    return first, second


def ago(visit: date, days: int) -> str:
    return f"{visit - timedelta(days=days)}T09:00:00Z"


def drawn_quiet_hip(c: Chart, rng: random.Random) -> None:
    """Full rotation (IR ≥ 28°; IR and IR+ER within 6° between sides), extension 10–20°."""
    ir, er = rng.randint(28, 40), rng.randint(35, 45)
    quiet_hip(
        c,
        ir=[ir + rng.randint(0, 3) for _ in range(2)],
        er=[er + rng.randint(0, 3) for _ in range(2)],
        extension=[rng.randint(10, 20) for _ in range(2)],
    )


def drawn_extension(rng: random.Random) -> tuple[int, int]:
    """Hip extension (left, right) of 5–18°: no deficit."""
    return rng.randint(5, 18), rng.randint(5, 18)


def aligned_spine(c: Chart, rng: random.Random) -> None:
    """PI−LL between −5° and 6° (≤ 10°: no malalignment)."""
    pi = rng.randint(45, 60)
    spine_angles(c, pi, pi - rng.randint(-5, 6))


@template("RED_FLAG", ages=(45, 85))
def red_flag(c: Chart, rng: random.Random, visit: date) -> None:
    c.pain("site-low-back", rng.randint(6, 9))
    if rng.random() < 0.5:  # cauda equina picture: emergency
        c.pain("site-leg-below-knee", rng.randint(5, 8))
        c.test("slr", "left", True, slr_angle=rng.randint(25, 45))
        c.test("slr", "right", True, slr_angle=rng.randint(25, 45))
        c.sign("rf-saddle-anaesthesia", True)
        c.sign("rf-bladder-dysfunction", True)
        c.condition((SNOMED, "192970008", "Cauda equina syndrome"), str(visit))
    else:  # cancer history and weight loss: urgent
        c.sign("rf-cancer-history", True)
        c.sign("rf-weight-loss", True)
        negative_red_flags(c)
    c.sign("rf-fever", False)
    kl_grades(c, rng.randint(0, 3), rng.randint(0, 3))


@template("NO_FINDINGS", ages=(25, 60))
def no_findings(c: Chart, rng: random.Random, visit: date) -> None:
    c.pain("site-low-back", rng.randint(2, 5), when=ago(visit, rng.randint(60, 200)))
    c.pain("site-low-back", 0)  # remeasured: resolved
    drawn_quiet_hip(c, rng)
    slr_negative(c)
    kl_grades(c, rng.randint(0, 1), rng.randint(0, 1))
    c.lumbar_imaging("normal")
    aligned_spine(c, rng)
    negative_red_flags(c)


@template("MISDIAGNOSED_HIP_MISSED", ages=(55, 80))
def misdiagnosed_hip_missed(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    before = rng.randint(6, 8)  # after = before − 1 or equal: below the MIC (< 2 points)
    surgery = visit - timedelta(days=rng.randint(400, 700))
    c.condition((SNOMED, "279039007", "Low back pain"), str(surgery - timedelta(days=200)))
    c.pain("site-low-back", before, when=f"{surgery - timedelta(days=20)}T09:00:00Z")
    c.prior("lumbar-surgery", True, str(surgery))
    c.pain("site-low-back", before - rng.randint(0, 1))
    c.pain("site-groin", rng.randint(4, 7))
    c.rom("internal-rotation", hip, rng.randint(4, 10))
    c.rom("internal-rotation", other, rng.randint(25, 35))
    c.test("fadir", hip, True, location="groin-anterior")
    c.test("fadir", other, False)
    c.kl(hip, 3)
    c.kl(other, rng.randint(0, 1))
    negative_red_flags(c)


@template("MISDIAGNOSED_SPINE_MISSED", ages=(60, 85))
def misdiagnosed_spine_missed(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    worst = rng.randint(7, 9)  # after: worst − 1 (≥ 4, below the MIC)
    thr = visit - timedelta(days=rng.randint(300, 600))
    c.pain("site-groin", worst, when=f"{thr - timedelta(days=25)}T09:00:00Z")
    c.pain("site-low-back", worst - 2, when=f"{thr - timedelta(days=25)}T09:00:00Z")
    c.hip_replacement(hip, str(thr))
    c.pain("site-groin", rng.randint(0, 2))
    c.pain("site-low-back", worst - 1)
    c.pain("site-leg-below-knee", rng.randint(4, 7))
    c.lumbar_imaging("stenosis")
    c.sign("neurogenic-claudication", True)
    c.test("slr", other, True, slr_angle=rng.randint(35, 55))
    c.odi(rng.randint(36, 60))
    negative_red_flags(c)


@template("SIMPLE_HIP_PRIMARY", ages=(50, 75))
def simple_hip_primary(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    c.pain("site-low-back", rng.randint(3, 6))
    pre = rng.randint(6, 9)
    c.pain("site-groin", pre)
    c.rom("internal-rotation", hip, rng.randint(6, 12))
    c.rom("internal-rotation", other, rng.randint(28, 36))
    c.test("fadir", hip, True, location="groin-anterior")
    c.test("fadir", other, False)
    c.kl(hip, 2)
    c.kl(other, rng.randint(0, 1))
    c.lumbar_imaging("spondylolisthesis")
    post = rng.randint(0, pre // 2 - 1)  # relief > 50 %
    c.ia_injection(pre, post, str(visit + timedelta(days=rng.randint(3, 9))))
    negative_red_flags(c)


@template("SIMPLE_SPINE_PRIMARY", ages=(50, 80))
def simple_spine_primary(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    c.pain("site-low-back", rng.randint(6, 8))
    c.pain("site-leg-below-knee", rng.randint(5, 7))
    c.test("fadir", hip, True, location="groin-anterior")
    c.test("fadir", other, False)
    c.test("slr", other, True, slr_angle=rng.randint(30, 50))
    c.sign("dermatomal-sensory-loss", True)
    kl_grades(c, rng.randint(0, 1), rng.randint(0, 1))
    c.lumbar_imaging("stenosis")
    c.ia_relief(rng.randint(0, 30), str(visit + timedelta(days=rng.randint(3, 9))))  # < 50 %
    negative_red_flags(c)


@template("INDETERMINATE_NOT_HIP", ages=(30, 65))
def indeterminate_not_hip(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    c.pain("site-low-back", rng.randint(4, 6))
    c.pain("site-buttock", rng.randint(4, 6))
    c.pain("site-groin", 0)
    c.test("fadir", hip, True)
    c.test("fadir", other, False)
    c.test("faber", hip, True, location="posterior")
    slr_negative(c)
    sij_three_of_five(c)
    kl_grades(c, rng.randint(0, 1), rng.randint(0, 1))
    c.lumbar_imaging("normal")
    aligned_spine(c, rng)
    pre = rng.randint(5, 8)
    c.ia_injection(pre, pre - 1, str(visit + timedelta(days=rng.randint(3, 9))))  # < 50 % relief
    negative_red_flags(c)


@template("SECONDARY", "STRUCTURAL", ages=(55, 80))
def secondary_structural(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    c.pain("site-low-back", rng.randint(4, 7))
    c.pain("site-groin", rng.randint(1, 3))
    c.test("thomas", hip, True)
    c.rom("extension", hip, rng.randint(-10, -2))
    c.test("thomas", other, False)
    c.rom("extension", other, rng.randint(8, 15))
    slr_negative(c)
    c.kl(hip, 2)
    c.kl(other, rng.randint(0, 1))
    c.lumbar_imaging("normal")
    aligned_spine(c, rng)
    negative_red_flags(c)


@template("SECONDARY", "HIP_DRIVEN", ages=(55, 85))
def secondary_hip_driven(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    icd = ("M16.12", "left") if hip == "left" else ("M16.11", "right")
    c.condition(
        (ICD10CM, icd[0], f"Unilateral primary osteoarthritis, {icd[1]} hip"),
        str(visit - timedelta(days=rng.randint(300, 900))),
    )
    c.pain("site-low-back", rng.randint(3, 6))
    c.pain("site-groin", rng.randint(4, 7))
    c.rom("internal-rotation", hip, rng.randint(8, 13))
    c.rom("internal-rotation", other, rng.randint(26, 34))
    c.test("fadir", hip, True, location="groin-anterior")
    no_extension_deficit(c, drawn_extension(rng))
    slr_negative(c)
    c.kl(hip, 3)
    c.kl(other, rng.randint(1, 2))
    c.lumbar_imaging("normal")
    aligned_spine(c, rng)
    negative_red_flags(c)


@template("SECONDARY", "FUNCTIONAL", ages=(35, 70))
def secondary_functional(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    c.pain("site-low-back", rng.randint(4, 7))
    c.pain("site-groin", 0)
    c.rom("internal-rotation", hip, rng.randint(8, 12))
    c.rom("internal-rotation", other, rng.randint(28, 34))
    c.test("fadir", hip, True)
    c.test("fadir", other, False)
    c.test("faber", "left", False)
    c.test("faber", "right", False)
    slr_negative(c, motor=False)
    kl_grades(c, rng.randint(0, 1), rng.randint(0, 1))
    c.lumbar_imaging("normal")


@template("COMPLEX", ages=(55, 80))
def complex_(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    c.condition((SNOMED, "18347007", "Spinal stenosis"), str(visit - timedelta(days=200)))
    c.pain("site-low-back", rng.randint(5, 8))
    c.pain("site-groin", rng.randint(4, 6))
    c.rom("internal-rotation", hip, rng.randint(6, 11))
    c.rom("internal-rotation", other, rng.randint(8, 13))
    c.test("fadir", hip, True, location="groin-anterior")
    no_extension_deficit(c, drawn_extension(rng))
    c.test("slr", other, True, slr_angle=rng.randint(35, 55))
    c.sign("neurogenic-claudication", True)
    kl_grades(c, 2, 2)
    c.lumbar_imaging("stenosis")
    aligned_spine(c, rng)
    c.odi(rng.randint(40, 60))
    negative_red_flags(c)


@template("NOT_HSS_SPINE", ages=(28, 55))
def not_hss_spine(c: Chart, rng: random.Random, visit: date) -> None:
    c.pain("site-low-back", rng.randint(6, 8))
    c.pain("site-leg-below-knee", rng.randint(5, 7))
    drawn_quiet_hip(c, rng)
    c.test("slr", rng.choice(["left", "right"]), True, slr_angle=rng.randint(30, 50))
    c.sign("dermatomal-sensory-loss", True)
    kl_grades(c, rng.randint(0, 1), rng.randint(0, 1))
    c.lumbar_imaging("disc-herniation")
    aligned_spine(c, rng)
    c.odi(rng.randint(30, 50))
    negative_red_flags(c)


@template("NOT_HSS_HIP", ages=(55, 85))
def not_hss_hip(c: Chart, rng: random.Random, visit: date) -> None:
    hip, other = sides(rng)
    c.condition((SNOMED, "239872002", "Osteoarthritis of hip"), str(visit - timedelta(days=300)))
    c.pain("site-low-back", 0)
    c.pain("site-groin", rng.randint(5, 8))
    c.rom("internal-rotation", hip, rng.randint(5, 10))
    c.rom("internal-rotation", other, rng.randint(26, 34))
    c.test("fadir", hip, True, location="groin-anterior")
    c.test("fadir", other, False)
    c.test("thomas", "left", False)
    c.test("thomas", "right", False)
    slr_negative(c)
    c.kl(hip, 3)
    c.kl(other, rng.randint(0, 1))
    negative_red_flags(c)


@template("INSUFFICIENT_DATA", ages=(30, 70))
def insufficient_data(c: Chart, rng: random.Random, visit: date) -> None:
    c.pain("site-thigh", rng.randint(3, 6))
    c.rom("internal-rotation", rng.choice(["left", "right"]), rng.randint(20, 35))
    c.odi(rng.randint(20, 40))
