"""Examples for rules R1–R4 (red flags, no findings, misdiagnosed, injection-decided)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.samples.chart import Chart
from service.samples.codes import SNOMED
from service.samples.findings import (
    kl_grades,
    negative_red_flags,
    quiet_hip,
    sij_three_of_five,
    slr_negative,
    spine_angles,
)

#: The visit every example describes, and the day of its diagnostic hip injection.
VISIT = "2025-03-14T09:30:00Z"
INJECTION_DAY = "2025-03-20"

Fill = Callable[[Chart], None]


@dataclass(frozen=True)
class Example:
    """One example file: its patient (id, given, family, gender, birth date) and story."""

    slug: str
    patient: tuple[str, str, str, str, str]
    fill: Fill

    def chart(self) -> Chart:
        chart = Chart(*self.patient, visit=VISIT)
        self.fill(chart)
        return chart

    @property
    def why(self) -> str:
        """The category it must give and the findings that make it so (``fill``'s docstring)."""
        return " ".join((self.fill.__doc__ or "").split())


CASES: dict[str, Example] = {}


def case(
    slug: str, patient_id: str, given: str, family: str, gender: str, birth_date: str
) -> Callable[[Fill], Fill]:
    """Register an example under its file name stem (the category it must give)."""

    def register(fill: Fill) -> Fill:
        CASES[slug] = Example(slug, (patient_id, given, family, gender, birth_date), fill)
        return fill

    return register


@case("red-flag-cauda-equina", "pat-rf-ces", "Marta", "Kowalski", "female", "1971-06-02")
def red_flag_cauda_equina(c: Chart) -> None:
    """RED_FLAG (R1), urgency-emergency: saddle anaesthesia, bladder dysfunction, CES Condition."""
    c.heart_rate(96)
    c.pain("site-low-back", 8)
    c.pain("site-leg-below-knee", 7)
    c.test("slr", "left", True, slr_angle=30)
    c.test("slr", "right", True, slr_angle=35)
    c.sign("rf-saddle-anaesthesia", True)
    c.sign("rf-bladder-dysfunction", True)
    c.sign("rf-fever", False)
    c.lumbar_imaging("disc-herniation")
    ces = (SNOMED, "192970008", "Cauda equina syndrome")
    c.condition(ces, "2025-03-13", verification="provisional")


@case("red-flag-urgent", "pat-rf-urgent", "Henry", "Osei", "male", "1952-11-19")
def red_flag_urgent(c: Chart) -> None:
    """RED_FLAG (R1), urgency-urgent: cancer history and weight loss; no emergency flag is true."""
    c.heart_rate(78)
    c.pain("site-low-back", 6)
    c.sign("rf-cancer-history", True)
    c.sign("rf-weight-loss", True)
    c.sign("rf-fever", False)
    negative_red_flags(c)
    c.sign("rf-progressive-motor-deficit", False)
    kl_grades(c, left=3, right=1)


@case("no-findings", "pat-no-findings", "Aiko", "Tanaka", "female", "1988-04-23")
def no_findings(c: Chart) -> None:
    """NO_FINDINGS (R11): every minimum-set item recorded and normal; all pain now 0."""
    c.heart_rate(64)
    c.pain("site-low-back", 3, when="2025-01-10T10:00:00Z")
    c.pain("site-low-back", 0)  # remeasured: the latest value wins
    c.test("fadir", "left", True, status="entered-in-error", note="Recorded on the wrong chart")
    quiet_hip(c, ir=(34, 36), er=(40, 40), extension=(15, 15))
    slr_negative(c)
    kl_grades(c, left=0, right=0)
    c.lumbar_imaging("normal")
    spine_angles(c, 50, 52)
    negative_red_flags(c)


@case("misdiagnosed-hip-missed", "pat-mis-hip", "Robert", "Lind", "male", "1958-02-14")
def misdiagnosed_hip_missed(c: Chart) -> None:
    """MISDIAGNOSED_HIP_MISSED (R2): lumbar surgery 2023-06, LBP 7 before, 6 after (< MIC);
    KL 3 left, IR 8° left, FADIR + left."""
    c.heart_rate(72)
    c.condition((SNOMED, "279039007", "Low back pain"), "2022-11-03")
    c.pain("site-low-back", 7, when="2023-05-10T09:00:00Z")
    c.prior("lumbar-surgery", True, "2023-06-01")
    c.pain("site-low-back", 5, when="2023-09-15T09:00:00Z")
    c.pain("site-low-back", 6)
    c.pain("site-groin", 5)
    c.rom("internal-rotation", "left", 8, snomed=True)
    c.rom("internal-rotation", "right", 28, snomed=True)
    c.test("fadir", "left", True, location="groin-anterior")
    kl_grades(c, left=3, right=1)
    negative_red_flags(c)


@case("misdiagnosed-spine-missed", "pat-mis-spine", "Elena", "Ruiz", "female", "1949-08-30")
def misdiagnosed_spine_missed(c: Chart) -> None:
    """MISDIAGNOSED_SPINE_MISSED (R3): left THR 2023-09, worst pain 8 before, 7 after (< MIC);
    lumbar stenosis on imaging, neurogenic claudication, SLR + right."""
    c.heart_rate(70)
    c.pain("hip", 8, when="2023-08-20T09:00:00Z")
    c.pain("site-low-back", 6, when="2023-08-20T09:00:00Z")
    c.hip_replacement("left", "2023-09-12")
    c.prior("lumbar-surgery", False, "2025-03-14")
    c.pain("hip", 1)
    c.pain("site-low-back", 7)
    c.pain("site-leg-below-knee", 5)
    c.lumbar_imaging("stenosis", when="2025-02-20")
    c.sign("neurogenic-claudication", True)
    c.test("slr", "right", True, slr_angle=45)
    c.odi(46)
    negative_red_flags(c)


@case("simple-hip-primary-ia-positive", "pat-hip-ia", "Samuel", "Ng", "male", "1963-01-09")
def simple_hip_primary_ia_positive(c: Chart) -> None:
    """SIMPLE_HIP_PRIMARY, confidence-high (R4): IA relief (7 → 1) 85.7 % with KL 2 right,
    IR 11° right, FADIR + right, LBP 5."""
    c.heart_rate(68)
    c.pain("site-low-back", 5)
    c.pain("site-groin", 7)
    c.rom("internal-rotation", "right", 11)
    c.rom("internal-rotation", "left", 30)
    c.test("fadir", "right", True, location="groin-anterior")
    c.test("scour", "right", True)
    kl_grades(c, left=1, right=2)
    c.lumbar_imaging("spondylolisthesis", when="2025-01-22")
    c.ia_injection(7, 1, INJECTION_DAY)
    negative_red_flags(c)


@case("simple-spine-primary", "pat-spine-ia", "Grace", "Okafor", "female", "1956-05-17")
def simple_spine_primary(c: Chart) -> None:
    """SIMPLE_SPINE_PRIMARY (R4): IA relief 20 % (negative), FADIR + right, lumbar stenosis,
    SLR + left, dermatomal sensory loss."""
    c.heart_rate(74)
    c.pain("site-low-back", 7)
    c.pain("site-leg-below-knee", 6)
    c.test("fadir", "right", True, location="groin-anterior")
    c.test("slr", "left", True, slr_angle=35)
    c.sign("dermatomal-sensory-loss", True)
    c.sign("reflex-loss", True)
    kl_grades(c, left=1, right=1)
    c.lumbar_imaging("stenosis", when="2025-02-02")
    c.ia_relief(20, INJECTION_DAY)
    negative_red_flags(c)


@case("indeterminate-not-hip", "pat-indet", "Liam", "Fischer", "male", "1979-09-05")
def indeterminate_not_hip(c: Chart) -> None:
    """INDETERMINATE_NOT_HIP (R4): IA relief (6 → 5) 16.7 %, FADIR + left, LBP 5; imaging normal,
    PI−LL 4°, SLR − both, motor signs absent; SIJ cluster 3/5 positive."""
    c.heart_rate(66)
    c.pain("site-low-back", 5)
    c.pain("site-buttock", 5)
    c.pain("site-groin", 0)
    c.test("fadir", "left", True)
    c.test("faber", "left", True, location="posterior")
    slr_negative(c)
    c.test("slump", None, False)
    sij_three_of_five(c)
    kl_grades(c, left=1, right=0)
    c.lumbar_imaging("normal")
    spine_angles(c, 50, 46)
    c.ia_injection(6, 5, INJECTION_DAY)
    negative_red_flags(c)
