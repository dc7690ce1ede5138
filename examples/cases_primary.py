"""Examples for rules R1–R4 (red flags, no findings, misdiagnosed, injection-decided).

Each case says what it must give (category, plan in order with sides, findings); the same is in
examples/README.md and tests/test_examples.py checks it through the HTTP API. Almost every chart
records the seven-item red-flag screen (E4-4; ``red_flag_screen``) so that it keeps its plan
without rec-red-flag-screen; the worked example (§8 exactly) and the insufficient-data chart do
not, on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inputs import red_flag_screen, sided_pain

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
    """One example file: its patient (id, given, family, gender, birth date), its story, and what
    it must give: the category (``gives``, "SECONDARY (FUNCTIONAL)"), the plan in order (each
    "rec-code" or "rec-code left right": the sides it names) and the findings that must be
    there (urgency, red-flag kinds, safety notes, confidence, priority flags …)."""

    slug: str
    patient: tuple[str, str, str, str, str]
    fill: Fill
    gives: str
    plan: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()

    def chart(self) -> Chart:
        chart = Chart(*self.patient, visit=VISIT)
        self.fill(chart)
        return chart

    @property
    def why(self) -> str:
        """The findings that make it so (``fill``'s docstring)."""
        return " ".join((self.fill.__doc__ or "").split())


CASES: dict[str, Example] = {}


def case(
    slug: str,
    patient_id: str,
    given: str,
    family: str,
    gender: str,
    birth_date: str,
    *,
    gives: str,
    plan: tuple[str, ...] = (),
    findings: tuple[str, ...] = (),
) -> Callable[[Fill], Fill]:
    """Register an example under its file name stem (the category it must give)."""

    def register(fill: Fill) -> Fill:
        patient = (patient_id, given, family, gender, birth_date)
        CASES[slug] = Example(slug, patient, fill, gives, plan, findings)
        return fill

    return register


@case(
    "red-flag-cauda-equina",
    "pat-rf-ces",
    "Marta",
    "Kowalski",
    "female",
    "1971-06-02",
    gives="RED_FLAG",
    plan=("rec-urgent-evaluation", "rec-mri-lumbar-urgent"),
    findings=("urgency-emergency", "red-flag-emergency"),
)
def red_flag_cauda_equina(c: Chart) -> None:
    """R1, emergency: saddle anaesthesia, bladder dysfunction, CES Condition; emergency words
    and an emergency lumbar MRI (Q10-02); the screen is incomplete but RED_FLAG gives its own
    plan and nothing else."""
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


@case(
    "red-flag-urgent",
    "pat-rf-urgent",
    "Henry",
    "Osei",
    "male",
    "1952-11-19",
    gives="RED_FLAG",
    plan=("rec-urgent-evaluation", "rec-mri-lumbar-urgent"),
    findings=("urgency-urgent", "red-flag-spine"),
)
def red_flag_urgent(c: Chart) -> None:
    """R1, urgent: cancer history and weight loss (a cancer history always gets the urgent MRI,
    of the whole spine, Q10-02); no emergency flag is true."""
    c.heart_rate(78)
    c.pain("site-low-back", 6)
    c.sign("rf-cancer-history", True)
    c.sign("rf-weight-loss", True)
    c.sign("rf-fever", False)
    negative_red_flags(c)
    c.sign("rf-progressive-motor-deficit", False)
    kl_grades(c, left=3, right=1)


@case(
    "red-flag-septic-hip",
    "pat-rf-septic-hip",
    "Joan",
    "Whitfield",
    "female",
    "1958-07-30",
    gives="RED_FLAG",
    plan=("rec-urgent-evaluation", "rec-imaging-hip-urgent right"),
    findings=("urgency-urgent", "red-flag-spine", "red-flag-hip"),
)
def red_flag_septic_hip(c: Chart) -> None:
    """R1, possible septic arthritis of the right hip (E4-2): fever with groin pain 9 and
    painful passive internal rotation right; urgent hip imaging (and aspiration), no lumbar
    MRI: fever is a single spinal item."""
    c.heart_rate(112)
    c.vital("8310-5", "Body temperature", 38.9, "Cel")
    red_flag_screen(c, "fever")
    c.pain("site-groin", 9)
    c.test("passive-ir-pain", "right", True)
    c.test("passive-ir-pain", "left", False)


@case(
    "red-flag-hip-fracture-fall",
    "pat-rf-hip-fall",
    "Albert",
    "Moreau",
    "male",
    "1944-02-11",
    gives="RED_FLAG",
    plan=("rec-urgent-evaluation", "rec-imaging-hip-urgent left"),
    findings=("urgency-urgent", "red-flag-spine", "red-flag-hip"),
)
def red_flag_hip_fracture_fall(c: Chart) -> None:
    """R1, possible hip fracture (E4-2): a fall (significant trauma) with left groin pain 8 and
    a positive log roll left; urgent hip radiographs for the left hip, no lumbar MRI."""
    c.heart_rate(88)
    red_flag_screen(c, "significant-trauma")
    sided_pain(c, "site-groin", "left", 8)
    c.pain("site-low-back", 2)
    c.test("log-roll", "left", True)


@case(
    "no-findings",
    "pat-no-findings",
    "Aiko",
    "Tanaka",
    "female",
    "1988-04-23",
    gives="NO_FINDINGS",
)
def no_findings(c: Chart) -> None:
    """R11: every minimum-set item recorded and normal; all pain now 0; no plan."""
    c.heart_rate(64)
    c.pain("site-low-back", 3, when="2025-01-10T10:00:00Z")
    c.pain("site-low-back", 0)  # remeasured: the latest value wins
    c.test("fadir", "left", True, status="entered-in-error", note="Recorded on the wrong chart")
    quiet_hip(c, ir=(34, 36), er=(40, 40), extension=(15, 15))
    slr_negative(c)
    kl_grades(c, left=0, right=0)
    c.lumbar_imaging("normal")
    spine_angles(c, 50, 52)
    red_flag_screen(c)


@case(
    "misdiagnosed-hip-missed",
    "pat-mis-hip",
    "Robert",
    "Lind",
    "male",
    "1958-02-14",
    gives="MISDIAGNOSED_HIP_MISSED",
    plan=("rec-ortho-hip-referral left",),
)
def misdiagnosed_hip_missed(c: Chart) -> None:
    """R2: lumbar surgery 2023-06, LBP 7 before, 6 after (pain persists); KL 3 left, IR 8°
    left, FADIR + left; KL known and KL ≥ 3, so the referral names the left hip."""
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
    red_flag_screen(c)


@case(
    "misdiagnosed-spine-missed",
    "pat-mis-spine",
    "Elena",
    "Ruiz",
    "female",
    "1949-08-30",
    gives="MISDIAGNOSED_SPINE_MISSED",
    plan=("rec-ortho-hip-referral left", "rec-spine-referral"),
)
def misdiagnosed_spine_missed(c: Chart) -> None:
    """R3: left THR 2023-09, worst pain 8 before, 7 after (pain persists); lumbar stenosis on
    imaging (recent: no MRI), neurogenic claudication, SLR + right; the replaced hip still
    hurts (hip pain 1, no side, one hip replaced: Q10-06, Q11-02), so it is assessed."""
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
    red_flag_screen(c)


@case(
    "simple-hip-primary-ia-positive",
    "pat-hip-ia",
    "Samuel",
    "Ng",
    "male",
    "1963-01-09",
    gives="SIMPLE_HIP_PRIMARY",
    plan=("rec-ortho-hip-referral right", "rec-combined-hip-lumbar-management right"),
    findings=("confidence-high",),
)
def simple_hip_primary_ia_positive(c: Chart) -> None:
    """R4, confidence high: IA relief (7 → 1) 85.7 % with KL 2 right, IR 11° right, FADIR +
    right, LBP 5."""
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
    red_flag_screen(c)


@case(
    "simple-spine-primary",
    "pat-spine-ia",
    "Grace",
    "Okafor",
    "female",
    "1956-05-17",
    gives="SIMPLE_SPINE_PRIMARY",
    plan=("rec-spine-referral",),
)
def simple_spine_primary(c: Chart) -> None:
    """R4: IA relief 20 % (negative), FADIR + right, lumbar stenosis (recent imaging: no MRI),
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
    red_flag_screen(c)


@case(
    "indeterminate-not-hip",
    "pat-indet",
    "Liam",
    "Fischer",
    "male",
    "1979-09-05",
    gives="INDETERMINATE_NOT_HIP",
    plan=("rec-lbp-first-line-care", "rec-sij-workup"),
)
def indeterminate_not_hip(c: Chart) -> None:
    """R4: IA relief (6 → 5) 16.7 %, FADIR + left, LBP 5; imaging normal, PI−LL 4°, SLR − both,
    motor signs absent; SIJ cluster 3/5 positive."""
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
    red_flag_screen(c)
