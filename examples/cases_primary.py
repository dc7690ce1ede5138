"""Examples for rules R1–R4 (red flags, no findings, misdiagnosed, injection-decided)."""

from __future__ import annotations

from collections.abc import Callable

from fhir_builders import SNOMED, Chart

Case = Callable[[], Chart]
CASES: dict[str, Case] = {}


def case(slug: str) -> Callable[[Case], Case]:
    """Register an example under its file name stem (the category it must give)."""

    def register(build: Case) -> Case:
        CASES[slug] = build
        return build

    return register


def negative_red_flags(c: Chart) -> None:
    """The emergency red flags asked and denied."""
    for flag in ("saddle-anaesthesia", "bladder-dysfunction", "faecal-incontinence"):
        c.sign(f"rf-{flag}", False)


def quiet_hip(c: Chart, ir: tuple[float, float] = (34, 36)) -> None:
    """A hip with full rotation, negative provocation, no extension deficit, no groin pain."""
    for side, deg in zip(("left", "right"), ir, strict=True):
        c.rom("internal-rotation", side, deg)
        c.rom("external-rotation", side, 40)
        c.rom("extension", side, 15)
        c.test("fadir", side, False)
        c.test("faber", side, False)
        c.test("thomas", side, False)
    c.pain("site-groin", 0)


def no_extension_deficit(c: Chart, extension: tuple[float, float] = (10, 12)) -> None:
    for side, deg in zip(("left", "right"), extension, strict=True):
        c.test("thomas", side, False)
        c.rom("extension", side, deg)


def slr_negative(c: Chart, *, motor: bool = True) -> None:
    c.test("slr", "left", False)
    c.test("slr", "right", False)
    if motor:
        c.sign("myotomal-weakness", False)
        c.sign("myelopathy-signs", False)


@case("red-flag-cauda-equina")
def red_flag_cauda_equina() -> Chart:
    """RED_FLAG (R1), urgency-emergency: saddle anaesthesia, bladder dysfunction, CES Condition."""
    c = Chart("red-flag-cauda-equina", "pat-rf-ces", "Marta", "Kowalski", "female", "1971-06-02")
    c.heart_rate(96)
    c.pain("site-low-back", 8)
    c.pain("site-leg-below-knee", 7)
    c.test("slr", "left", True, slr_angle=30)
    c.test("slr", "right", True, slr_angle=35)
    c.sign("rf-saddle-anaesthesia", True)
    c.sign("rf-bladder-dysfunction", True)
    c.sign("rf-fever", False)
    c.lumbar_imaging("disc-herniation")
    c.condition(
        (SNOMED, "192970008", "Cauda equina syndrome"), "2025-03-13", verification="provisional"
    )
    return c


@case("red-flag-urgent")
def red_flag_urgent() -> Chart:
    """RED_FLAG (R1), urgency-urgent: cancer history and weight loss; no emergency flag is true."""
    c = Chart("red-flag-urgent", "pat-rf-urgent", "Henry", "Osei", "male", "1952-11-19")
    c.heart_rate(78)
    c.pain("site-low-back", 6)
    c.sign("rf-cancer-history", True)
    c.sign("rf-weight-loss", True)
    c.sign("rf-fever", False)
    negative_red_flags(c)
    c.sign("rf-progressive-motor-deficit", False)
    c.kl("left", 3)
    c.kl("right", 1)
    return c


@case("no-findings")
def no_findings() -> Chart:
    """NO_FINDINGS (R11): every minimum-set item recorded and normal; all pain now 0."""
    c = Chart("no-findings", "pat-no-findings", "Aiko", "Tanaka", "female", "1988-04-23")
    c.heart_rate(64)
    c.pain("site-low-back", 3, when="2025-01-10T10:00:00Z")
    c.pain("site-low-back", 0)  # remeasured: the latest value wins
    c.test("fadir", "left", True, status="entered-in-error", note="Recorded on the wrong chart")
    quiet_hip(c)
    slr_negative(c)
    c.kl("left", 0)
    c.kl("right", 0)
    c.lumbar_imaging("normal")
    c.spinopelvic("pelvic-incidence", 50)
    c.spinopelvic("lumbar-lordosis", 52)
    negative_red_flags(c)
    return c


@case("misdiagnosed-hip-missed")
def misdiagnosed_hip_missed() -> Chart:
    """MISDIAGNOSED_HIP_MISSED (R2): lumbar surgery 2023-06, LBP 7 before, 6 after (< MIC);
    KL 3 left, IR 8° left, FADIR + left."""
    c = Chart("misdiagnosed-hip-missed", "pat-mis-hip", "Robert", "Lind", "male", "1958-02-14")
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
    c.kl("left", 3)
    c.kl("right", 1)
    negative_red_flags(c)
    return c


@case("misdiagnosed-spine-missed")
def misdiagnosed_spine_missed() -> Chart:
    """MISDIAGNOSED_SPINE_MISSED (R3): left THR 2023-09, worst pain 8 before, 7 after (< MIC);
    lumbar stenosis on imaging, neurogenic claudication, SLR + right."""
    c = Chart("misdiagnosed-spine-missed", "pat-mis-spine", "Elena", "Ruiz", "female", "1949-08-30")
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
    return c


@case("simple-hip-primary-ia-positive")
def simple_hip_primary_ia_positive() -> Chart:
    """SIMPLE_HIP_PRIMARY, confidence-high (R4): IA relief (7 → 1) 85.7 % with KL 2 right,
    IR 11° right, FADIR + right, LBP 5."""
    c = Chart("simple-hip-primary-ia-positive", "pat-hip-ia", "Samuel", "Ng", "male", "1963-01-09")
    c.heart_rate(68)
    c.pain("site-low-back", 5)
    c.pain("site-groin", 7)
    c.rom("internal-rotation", "right", 11)
    c.rom("internal-rotation", "left", 30)
    c.test("fadir", "right", True, location="groin-anterior")
    c.test("scour", "right", True)
    c.kl("right", 2)
    c.kl("left", 1)
    c.lumbar_imaging("spondylolisthesis", when="2025-01-22")
    c.ia_injection(7, 1)
    negative_red_flags(c)
    return c


@case("simple-spine-primary")
def simple_spine_primary() -> Chart:
    """SIMPLE_SPINE_PRIMARY (R4): IA relief 20 % (negative), FADIR + right, lumbar stenosis,
    SLR + left, dermatomal sensory loss."""
    c = Chart("simple-spine-primary", "pat-spine-ia", "Grace", "Okafor", "female", "1956-05-17")
    c.heart_rate(74)
    c.pain("site-low-back", 7)
    c.pain("site-leg-below-knee", 6)
    c.test("fadir", "right", True, location="groin-anterior")
    c.test("slr", "left", True, slr_angle=35)
    c.sign("dermatomal-sensory-loss", True)
    c.sign("reflex-loss", True)
    c.kl("left", 1)
    c.kl("right", 1)
    c.lumbar_imaging("stenosis", when="2025-02-02")
    c.ia_relief(20)
    negative_red_flags(c)
    return c


@case("indeterminate-not-hip")
def indeterminate_not_hip() -> Chart:
    """INDETERMINATE_NOT_HIP (R4): IA relief (6 → 5) 16.7 %, FADIR + left, LBP 5; imaging normal,
    PI−LL 4°, SLR − both, motor signs absent; SIJ cluster 3/5 positive."""
    c = Chart("indeterminate-not-hip", "pat-indet", "Liam", "Fischer", "male", "1979-09-05")
    c.heart_rate(66)
    c.pain("site-low-back", 5)
    c.pain("site-buttock", 5)
    c.pain("site-groin", 0)
    c.test("fadir", "left", True)
    c.test("faber", "left", True, location="posterior")
    slr_negative(c)
    c.test("slump", None, False)
    for name, positive in (
        ("distraction", True),
        ("thigh-thrust", True),
        ("compression", True),
        ("sacral-thrust", False),
        ("gaenslen", False),
    ):
        c.test(f"sij-{name}", None, positive)
    c.kl("left", 1)
    c.kl("right", 0)
    c.lumbar_imaging("normal")
    c.spinopelvic("pelvic-incidence", 50)
    c.spinopelvic("lumbar-lordosis", 46)
    c.ia_injection(6, 5)
    negative_red_flags(c)
    return c
