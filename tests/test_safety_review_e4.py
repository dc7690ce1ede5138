"""Independent clinical safety review of the fourth edition (clinical-spec.md §10, §11, Q10).

Each test traces one concrete patient through ``create_app`` (the pipeline every entry point
uses, and once through ``POST /fhir/$hip-spine-evaluate``) and checks what a clinician would
act on. The spec id a test holds is in its name and docstring.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from examples.inputs import prior_physiotherapy, red_flag_screen, sided_pain
from service.core import Side
from service.core.assessment import Assessment
from service.pipeline import Pipeline
from service.samples.chart import Chart
from service.samples.codes import SNOMED, UCUM, concept

VISIT = "2026-11-20"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
OSTEOPOROSIS = (SNOMED, "64859006", "Osteoporosis")


def chart(birth: str = "1960-01-01") -> Chart:
    return Chart("p1", "Ada", "Review", "female", birth, VISIT)


def assess(app: Flask, c: Chart) -> Assessment:
    pipeline: Pipeline = app.extensions["hipspine"].pipeline
    _, assessment = pipeline.assess(c.collection("b1", f"{VISIT}T12:00:00Z"))
    return assessment


def plan(a: Assessment) -> dict[str, tuple[Side, ...]]:
    return {r.code: r.sides for r in a.recommendations}


def lbp_with_negative_hip_exam(c: Chart) -> None:
    c.pain("site-low-back", 6)
    red_flag_screen(c)
    c.test("slr", "left", False)
    c.test("slr", "right", False)
    c.lumbar_imaging("normal")


# --- (3) sides --------------------------------------------------------------------------------


def test_q10_06_painful_replaced_hip_referral_names_only_the_replaced_side(app: Flask) -> None:
    """Q10-06, Q4-13, Q4-17: left hip replaced with left groin pain 5, FADIR + on the native
    right hip, LBP 6 → SECONDARY (FUNCTIONAL). The category's row has no orthopaedic referral;
    Q10-06 adds it "for that side" (the painful replacement). The native right hip, whose
    FUNCTIONAL pattern calls for a programme, not a surgeon, must not be referred as well
    (the code named both hips: "Orthopaedic hip referral for both hips")."""
    c = chart()
    lbp_with_negative_hip_exam(c)
    c.hip_replacement("left", "2020-01-01")
    sided_pain(c, "site-groin", "left", 5)
    c.rom("internal-rotation", "right", 30)
    c.test("fadir", "right", True)
    c.test("faber", "right", False)
    c.kl("right", 1)
    a = assess(app, c)
    sides = plan(a)
    assert sides["rec-ortho-hip-referral"] == (Side.LEFT,)
    assert sides["rec-combined-hip-lumbar-management"] == (Side.RIGHT,)
    ortho = next(r for r in a.recommendations if r.code == "rec-ortho-hip-referral")
    assert "both hips" not in ortho.instruction
    assert "painful hip replacement" in ortho.instruction.lower()


def test_q10_06_q11_02_unsided_groin_pain_one_replaced_hip(app: Flask) -> None:
    """Q11-02: a groin pain without side with exactly one (left) hip replaced is that side's;
    the referral of Q10-06 names the left hip only."""
    c = chart()
    lbp_with_negative_hip_exam(c)
    c.hip_replacement("left", "2020-01-01")
    c.pain("site-groin", 5)
    c.rom("internal-rotation", "right", 30)
    c.test("fadir", "right", True)
    c.test("faber", "right", False)
    c.kl("right", 1)
    assert plan(assess(app, c))["rec-ortho-hip-referral"] == (Side.LEFT,)


def test_q4_17_q5_03_referral_names_kl3_side_not_the_sign_side(app: Flask) -> None:
    """Q4-17, Q5-03 (no defect): KL 3 right, FADIR + left → the referral names the right hip,
    the programme the left."""
    c = chart()
    lbp_with_negative_hip_exam(c)
    c.pain("site-groin", 0)
    c.rom("internal-rotation", "left", 30)
    c.rom("internal-rotation", "right", 30)
    for side, fadir in (("left", True), ("right", False)):
        c.test("fadir", side, fadir)
        c.test("faber", side, False)
    c.kl("left", 1)
    c.kl("right", 3)
    sides = plan(assess(app, c))
    assert sides["rec-ortho-hip-referral"] == (Side.RIGHT,)
    assert sides["rec-combined-hip-lumbar-management"] == (Side.LEFT,)


# --- (1) emergencies and urgent work-up ---------------------------------------------------------


def test_q10_01_old_cancer_history_true_not_erased_by_later_false(app: Flask) -> None:
    """Q10-01 (no defect): rf-cancer-history true in 2015, false at the visit → RED_FLAG with
    an urgent MRI of the whole spine (Q10-02)."""
    c = chart()
    c.pain("site-low-back", 5)
    c.sign("rf-cancer-history", True, when="2015-01-01")
    c.sign("rf-cancer-history", False)
    a = assess(app, c)
    assert a.category.name == "RED_FLAG"
    mri = next(r for r in a.recommendations if r.code == "rec-mri-lumbar-urgent")
    assert "whole spine" in mri.instruction


def test_q10_01_q7_02_malignancy_condition_any_status_but_c44(app: Flask) -> None:
    """Q10-01, Q4-04, Q7-02 (no defect): a resolved breast cancer (C50.911) and a C7A code are
    cancer history; a C44 skin cancer and a refuted C50 are not."""
    for code, status, verification, red in (
        ("C50.911", "resolved", "confirmed", True),
        ("C7A.00", "remission", "confirmed", True),
        ("C44.91", "active", "confirmed", False),
        ("C50.911", "active", "refuted", False),
    ):
        c = chart()
        c.pain("site-low-back", 5)
        r = c.condition((ICD10CM, code, "malignancy"), "2019-01-01", verification=verification)
        r["clinicalStatus"] = concept((CLINICAL, status, status))
        a = assess(app, c)
        assert (a.category.name == "RED_FLAG") is red, (code, status, verification)


def test_q10_08_q11_06_partial_birth_date_counts_from_latest_day(app: Flask) -> None:
    """Q10-08, Q11-06 (no defect): osteoporosis, reference 2026-11-20; birthDate 1956-11 (latest
    day 1956-11-30: 69) does not fire; 1956-10 (latest 1956-10-31: 70) does."""
    for birth, red in (("1956", False), ("1956-11", False), ("1956-10", True)):
        c = chart(birth)
        c.pain("site-low-back", 5)
        c.condition(OSTEOPOROSIS, "2015-01-01")
        assert (assess(app, c).category.name == "RED_FLAG") is red, birth


def test_q4_08_q5_05_femoral_neck_fracture_recency(app: Flask) -> None:
    """Q4-08, Q5-05 (no defect): a femoral-neck fracture Condition 30 days before the reference
    time is RED_FLAG_HIP with urgent imaging of its side; one 90.5 days before is not."""
    c = chart()
    c.pain("site-low-back", 4)
    c.condition((SNOMED, "5913000", "Fracture of neck of femur"), "2026-10-21", side="right")
    a = assess(app, c)
    assert plan(a)["rec-imaging-hip-urgent"] == (Side.RIGHT,)
    c = chart()
    c.pain("site-low-back", 4)
    c.condition((ICD10CM, "S72.001A", "fracture"), "2026-08-21T12:00:00Z")
    assert assess(app, c).category.name != "RED_FLAG"


def test_q5_09_q4_02_excluded_observations_do_not_move_the_reference_time(app: Flask) -> None:
    """Q5-09, Q4-02, E4-5 (no defect): bladder dysfunction 87 days before the visit stays
    current although a replaced-hip log roll (excluded) is dated 10 days after the visit."""
    c = chart()
    c.pain("site-low-back", 5)
    c.sign("rf-bladder-dysfunction", True, when="2026-08-25")
    c.hip_replacement("left", "2020-01-01")
    c.test("log-roll", "left", True, when="2026-11-30")
    a = assess(app, c)
    assert a.category.name == "RED_FLAG"
    assert a.flags["RED_FLAG_EMERGENCY"].value.name == "TRUE"


# --- (6) escalation ----------------------------------------------------------------------------


def test_e4_16_q4_28_q5_07_escalation_after_negative_injection(app: Flask) -> None:
    """E4-16, Q4-28 (no defect): IA relief 20 % with hip signs and LBP, physiotherapy failed →
    INDETERMINATE_NOT_HIP and a spine referral instead of first-line care, no hip referral."""
    c = chart()
    c.pain("site-low-back", 6, when="2026-06-01")
    prior_physiotherapy(c, "2026-08-01")
    lbp_with_negative_hip_exam(c)
    c.pain("site-groin", 0)
    c.rom("internal-rotation", "left", 10)
    c.rom("internal-rotation", "right", 32)
    for side, fadir in (("left", True), ("right", False)):
        c.test("fadir", side, fadir)
        c.test("faber", side, False)
    c.kl("left", 1)
    c.kl("right", 1)
    c.ia_relief(20, "2026-11-10")
    codes = list(plan(assess(app, c)))
    assert codes == ["rec-spine-referral"]


# --- end to end ----------------------------------------------------------------------------------


def test_q10_06_end_to_end_care_plan_laterality(client: FlaskClient) -> None:
    """Q10-06, Q4-19 end to end: the CarePlan's orthopaedic referral carries one laterality
    extension, the left (replaced, painful) hip."""
    c = chart()
    lbp_with_negative_hip_exam(c)
    c.hip_replacement("left", "2020-01-01")
    sided_pain(c, "site-groin", "left", 5)
    c.rom("internal-rotation", "right", 30)
    c.test("fadir", "right", True)
    c.test("faber", "right", False)
    c.kl("right", 1)
    response = client.post(
        "/fhir/$hip-spine-evaluate",
        json=c.collection("b1", f"{VISIT}T12:00:00Z"),
        content_type="application/fhir+json",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    bundle: dict[str, Any] = response.get_json(force=True)
    care_plan = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    ortho = next(
        a["detail"]
        for a in care_plan["activity"]
        if a["detail"]["code"]["coding"][0]["code"] == "rec-ortho-hip-referral"
    )
    sides = [
        x["valueCodeableConcept"]["coding"][0]["code"]
        for x in ortho.get("extension", [])
        if x["url"].endswith("/laterality")
    ]
    assert sides == ["7771000"]


# --- (5) MRI and lumbar imaging ---------------------------------------------------------------


def radicular_lbp(c: Chart) -> None:
    c.pain("site-low-back", 5)
    c.pain("site-groin", 0)
    red_flag_screen(c)
    c.test("slr", "left", True)
    c.test("slr", "right", False)
    c.rom("internal-rotation", "left", 30)
    c.rom("internal-rotation", "right", 30)
    for side in ("left", "right"):
        c.test("fadir", side, False)
        c.test("faber", side, False)


def test_q10_05_old_lumbar_imaging_is_listed_as_old(app: Flask) -> None:
    """Q10-05, Q11-01: a disc herniation imaged 366 days before the visit and a radicular SLR
    today → the lumbar MRI is asked for, and its instruction lists the imaging on record as old
    ("older ones are listed as old imaging"); the code said nothing, so the clinician could
    not tell why an MRI was asked although imaging exists."""
    c = chart()
    radicular_lbp(c)
    c.lumbar_imaging("disc-herniation", when="2025-11-19")
    a = assess(app, c)
    mri = next(r for r in a.recommendations if r.code == "rec-mri-lumbar")
    assert "2025-11-19" in mri.instruction
    assert "older than 12 months" in mri.instruction


def test_q10_05_q11_01_imaging_365_days_old_is_known(app: Flask) -> None:
    """Q10-05, Q11-01 (no defect): imaging exactly 365 days old is known (no MRI); untimed
    imaging is known."""
    c = chart()
    radicular_lbp(c)
    c.lumbar_imaging("disc-herniation", when="2025-11-20")
    assert "rec-mri-lumbar" not in plan(assess(app, c))


def test_q10_05_mri_deferred_only_with_motor_examination_known_normal(app: Flask) -> None:
    """Q10-05, E4-13 (no defect): a 3-week radicular episode gets the MRI while the motor
    examination is unknown or only half recorded, and first-line care with the safety-netting
    sentence once myotomal weakness and myelopathy are both recorded false."""
    c = chart()
    radicular_lbp(c)
    c.observation(
        "survey",
        concept(("http://hipspine-cds.org/fhir/CodeSystem/hsc", "symptom-duration", "d")),
        {"valueQuantity": {"value": 3, "unit": "wk", "system": UCUM, "code": "wk"}},
    )
    c.sign("myotomal-weakness", False)
    assert "rec-mri-lumbar" in plan(assess(app, c))
    c.sign("myelopathy-signs", False)
    a = assess(app, c)
    assert "rec-mri-lumbar" not in plan(a)
    care = next(r for r in a.recommendations if r.code == "rec-lbp-first-line-care")
    assert "new or worsening leg weakness" in care.instruction


# --- (3) sides: a Condition of a replaced hip (Q4-13) -------------------------------------------

HSC_SYSTEM = "http://hipspine-cds.org/fhir/CodeSystem/hsc"


def replaced_left_native_right_fadir(c: Chart) -> None:
    c.pain("site-low-back", 5)
    c.pain("site-groin", 0)
    red_flag_screen(c)
    c.hip_replacement("left", "2019-01-01")
    c.rom("internal-rotation", "right", 30)
    c.test("fadir", "right", True)
    c.test("faber", "right", False)
    c.kl("right", 1)
    c.test("slr", "left", False)
    c.test("slr", "right", False)
    c.lumbar_imaging("normal")


def test_q4_13_e4_22_avn_of_the_replaced_hip_is_no_urgent_referral_of_the_other(
    app: Flask,
) -> None:
    """Q4-13, E4-22, Q10-13: AVN of the left hip, replaced in 2019 for it (the Condition stays on
    the problem list), FADIR + on the native right hip, LBP → SECONDARY (FUNCTIONAL). The AVN of
    a replaced side is not hip evidence: the code asked for an "urgent orthopaedic referral for
    the right hip, with hip MRI (avascular necrosis)" and named AVN among the right hip's
    findings: a wrong-side urgent work-up. The programme keeps its precautions (no hip
    mobilisation)."""
    c = chart()
    replaced_left_native_right_fadir(c)
    c.condition((HSC_SYSTEM, "condition-avn", "AVN"), "2018-01-01", side="left")
    a = assess(app, c)
    assert "rec-ortho-hip-referral" not in plan(a)
    assert "avascular necrosis" not in a.lead
    programme = next(r for r in a.recommendations if r.code == "rec-combined-hip-lumbar-management")
    assert "no hip joint mobilisation" in programme.instruction


def test_q4_13_e4_22_fai_of_the_replaced_hip_is_no_hip_preservation_referral(app: Flask) -> None:
    """Q4-13, E4-22: FAI recorded on the left hip, since replaced; physiotherapy failed; FADIR +
    on the native right hip. The code referred the right hip for hip preservation "after
    physiotherapist-led care (femoroacetabular impingement)": the FAI was the other hip's.
    The escalation of E4-16 (referral and injection of the right hip) stays."""
    c = chart()
    c.pain("site-low-back", 6, when="2026-06-01")
    prior_physiotherapy(c, "2026-08-01")
    replaced_left_native_right_fadir(c)
    c.condition((HSC_SYSTEM, "condition-fai", "FAI"), "2018-01-01", side="left")
    a = assess(app, c)
    ortho = next(r for r in a.recommendations if r.code == "rec-ortho-hip-referral")
    assert ortho.sides == (Side.RIGHT,)
    assert "femoroacetabular" not in ortho.instruction
    assert "femoroacetabular" not in a.lead


# --- (7) "Missing": what would change the conclusion (E4-26) -------------------------------------


def test_e4_26_e4_3_weakness_without_mrc_grade_asks_for_the_grade_first(app: Flask) -> None:
    """E4-26, E4-3, Q4-07: myotomal weakness recorded true without an MRC grade, LBP 5, a
    complete screen and a negative hip exam → NOT_HSS_SPINE with an MRI and a spine referral.
    An MRC grade ≤ 3 would make it RED_FLAG (same-day evaluation, urgent MRI): the grade is
    the one missing item that changes the conclusion most, so "Missing" must name it first
    after the screen. The code listed only PI−LL (radiographs)."""
    c = chart()
    c.pain("site-low-back", 5)
    c.pain("site-groin", 0)
    red_flag_screen(c)
    c.sign("myotomal-weakness", True)
    c.rom("internal-rotation", "left", 30)
    c.rom("internal-rotation", "right", 30)
    for side in ("left", "right"):
        c.test("fadir", side, False)
        c.test("faber", side, False)
        c.test("slr", side, False)
    a = assess(app, c)
    assert a.category.name == "NOT_HSS_SPINE"
    assert a.missing, "nothing named as missing"
    assert "MRC grade" in a.missing[0]


# --- (1)/(3) femoral-neck fracture: the side of the recent one (Q5-05, Q4-18) --------------------


def test_q5_05_q4_18_urgent_imaging_names_the_recent_fracture_side_only(app: Flask) -> None:
    """Q5-05, Q4-18, §5.4: a femoral-neck fracture of the left hip in 2015 (still on the problem
    list) and a new one of the right hip 19 days before the visit → RED_FLAG_HIP from the
    recent right fracture; rec-imaging-hip-urgent names the side whose sign made the red flag,
    the right. The code named both hips (the sides of all fracture Conditions merged)."""
    fracture = (SNOMED, "5913000", "Fracture of neck of femur")
    c = chart()
    c.pain("site-low-back", 4)
    c.condition(fracture, "2015-01-01", side="left")
    c.condition(fracture, "2026-11-01", side="right")
    a = assess(app, c)
    assert a.category.name == "RED_FLAG"
    assert plan(a)["rec-imaging-hip-urgent"] == (Side.RIGHT,)


def test_q10_06_e4_19_lead_says_why_a_replaced_hip_is_referred(app: Flask) -> None:
    """Q10-06, E4-19, §6.1: left hip replaced, left groin pain 5, LBP 5, native right hip
    examined normal → NOT_HSS_SPINE, whose display reads "no hip involvement found". The lead's
    "Next:" said only "an orthopaedic referral for the left hip", so the first lines a clinician
    reads denied hip involvement and gave no reason for the referral (a painful prosthesis:
    infection, loosening). The lead names the painful hip replacement."""
    c = chart()
    c.pain("site-low-back", 5)
    red_flag_screen(c)
    c.hip_replacement("left", "2019-01-01")
    sided_pain(c, "site-groin", "left", 5)
    c.rom("internal-rotation", "right", 30)
    c.test("fadir", "right", False)
    c.test("faber", "right", False)
    c.kl("right", 0)
    c.test("slr", "left", False)
    c.test("slr", "right", False)
    a = assess(app, c)
    assert plan(a)["rec-ortho-hip-referral"] == (Side.LEFT,)
    assert "painful hip replacement" in a.lead


def test_e4_25_e4_26_no_injection_or_treatment_asked_without_reason(app: Flask) -> None:
    """E4-25, E4-26, §0.7: buttock pain 5 with a complete, negative hip and spine examination
    (KL 0 both, imaging normal, motor examination normal), no prior treatment → INSUFFICIENT_DATA
    with the minimum set complete, so rec-collect-missing-data names the flags left unknown.
    The code asked to "measure and record: … response to a diagnostic hip injection; pain NRS
    after the prior lumbar treatment; … hip treatment; … physiotherapy programme": an invasive
    injection for a hip with no sign or pathology (it cannot change the conclusion: R4 needs
    hip evidence), and NRS after treatments that were never given."""
    c = chart()
    c.pain("site-low-back", 0)
    c.pain("site-groin", 0)
    c.pain("site-buttock", 5)
    red_flag_screen(c)
    c.rom("internal-rotation", "left", 30)
    c.rom("internal-rotation", "right", 30)
    for side in ("left", "right"):
        c.test("fadir", side, False)
        c.test("faber", side, False)
        c.test("slr", side, False)
        c.test("thomas", side, False)
    c.kl("left", 0)
    c.kl("right", 0)
    c.lumbar_imaging("normal")
    c.sign("myotomal-weakness", False)
    c.sign("myelopathy-signs", False)
    a = assess(app, c)
    assert a.category.name == "INSUFFICIENT_DATA"
    collect = next(r for r in a.recommendations if r.code == "rec-collect-missing-data")
    assert "injection" not in collect.instruction
    assert "prior" not in collect.instruction
    assert "sacroiliac joint provocation tests" in collect.instruction


# --- checks that found no defect (kept as regression tests) -------------------------------------


def worked_example(c: Chart) -> None:
    """§8: LBP 6, IR 10° left / 32° right, FADIR + left, KL 1/1, imaging normal, screen done."""
    c.pain("site-low-back", 6)
    c.pain("site-groin", 0)
    c.rom("internal-rotation", "left", 10)
    c.rom("internal-rotation", "right", 32)
    for side, fadir in (("left", True), ("right", False)):
        c.test("fadir", side, fadir)
        c.test("faber", side, False)
        c.test("slr", side, False)
    c.kl("left", 1)
    c.kl("right", 1)
    c.lumbar_imaging("normal")
    red_flag_screen(c)


def test_e4_8_q4_43_every_precaution_drops_hip_mobilisation(app: Flask) -> None:
    """E4-8, Q4-43, Q4-24 (no defect): rheumatoid arthritis (M05.79), osteoporosis (M80.08XA)
    under 70, an old femoral-neck fracture (S72.009A) → the FUNCTIONAL programme drops hip
    mobilisation and names the precaution."""
    for code, words in (
        ("M05.79", "rheumatoid arthritis"),
        ("M80.08XA", "osteoporosis"),
        ("S72.009A", "femoral neck fracture"),
    ):
        c = chart()
        worked_example(c)
        c.condition((ICD10CM, code, words), "2010-01-01")
        a = assess(app, c)
        programme = next(
            r for r in a.recommendations if r.code == "rec-combined-hip-lumbar-management"
        )
        assert "no hip joint mobilisation or manipulation" in programme.instruction, code
        assert words in programme.instruction, code
        assert "Pain-free hip joint mobilisation" not in programme.instruction, code
        assert any(x.code == "caution-no-hip-manual-therapy" for x in a.conclusions), code


def test_q10_06_q4_14_fever_with_a_painful_replaced_hip_is_a_hip_red_flag(app: Flask) -> None:
    """Q10-06, Q4-14, Q5-01, Q11-02 (no defect): left hip replaced, fever, groin pain 3 without
    side → RED_FLAG with urgent imaging of the left hip (possible septic arthritis)."""
    c = chart()
    c.hip_replacement("left", "2020-01-01")
    c.pain("site-groin", 3)
    c.sign("rf-fever", True)
    a = assess(app, c)
    assert a.category.name == "RED_FLAG"
    assert plan(a)["rec-imaging-hip-urgent"] == (Side.LEFT,)


def test_q10_02_urgent_mri_before_urgent_hip_imaging(app: Flask) -> None:
    """Q10-02, §5.3 (no defect): fever, weight loss and a painful log roll left → urgent
    evaluation, urgent lumbar MRI, then urgent imaging of the left hip."""
    c = chart()
    c.pain("site-low-back", 5)
    c.sign("rf-fever", True)
    c.sign("rf-weight-loss", True)
    c.test("log-roll", "left", True)
    assert list(plan(assess(app, c))) == [
        "rec-urgent-evaluation",
        "rec-mri-lumbar-urgent",
        "rec-imaging-hip-urgent",
    ]


def test_q10_14_failed_physiotherapy_with_lbp_only(app: Flask) -> None:
    """Q10-14, E4-16 (no defect): LBP 6 before and after a physiotherapy programme, hip and
    spine examinations negative → first-line care becomes a combined physical and psychological
    programme, with the safety-netting sentence (Q10-05); no spine referral."""
    c = chart()
    c.pain("site-low-back", 6, when="2026-06-01")
    prior_physiotherapy(c, "2026-08-01")
    c.pain("site-low-back", 6)
    c.pain("site-groin", 0)
    red_flag_screen(c)
    c.rom("internal-rotation", "left", 30)
    c.rom("internal-rotation", "right", 32)
    for side in ("left", "right"):
        c.test("fadir", side, False)
        c.test("faber", side, False)
        c.test("slr", side, False)
    c.kl("left", 0)
    c.kl("right", 0)
    a = assess(app, c)
    assert list(plan(a)) == ["rec-lbp-first-line-care"]
    care = a.recommendations[0]
    assert "psychological" in care.instruction
    assert "new or worsening leg weakness" in care.instruction


def test_q4_44_q10_09_lead_names_the_groin_pain_that_carries_it(app: Flask) -> None:
    """Q4-44, §6.1, Q10-09, Q4-15: right groin pain 5 with the hip examined (rotation normal,
    provocation tests not recorded), LBP 5 → SECONDARY (FUNCTIONAL) for the right hip, carried
    by the groin pain alone. The lead said "The right hip may be contributing to the low back
    pain." with no finding; it names the right groin pain."""
    c = chart()
    c.pain("site-low-back", 5)
    sided_pain(c, "site-groin", "right", 5)
    red_flag_screen(c)
    c.rom("internal-rotation", "left", 30)
    c.rom("internal-rotation", "right", 30)
    c.test("slr", "left", False)
    c.test("slr", "right", False)
    c.kl("left", 0)
    c.kl("right", 0)
    c.lumbar_imaging("normal")
    a = assess(app, c)
    assert plan(a)["rec-combined-hip-lumbar-management"] == (Side.RIGHT,)
    assert "groin pain 5/10 right" in a.lead


def test_q4_13_unsided_avn_next_to_a_replaced_sides_avn_still_counts(app: Flask) -> None:
    """Q4-13, E4-22 (with core-flags' per-Condition reading): an AVN Condition without side and
    one of the replaced left hip → the unsided one may concern the native right hip: urgent
    referral (AVN words), no diagnostic injection (Q10-13)."""
    c = chart()
    replaced_left_native_right_fadir(c)
    c.condition((HSC_SYSTEM, "condition-avn", "AVN"), "2018-01-01", side="left")
    c.condition((HSC_SYSTEM, "condition-avn", "AVN"), "2024-01-01")
    a = assess(app, c)
    ortho = next(r for r in a.recommendations if r.code == "rec-ortho-hip-referral")
    assert "avascular necrosis" in ortho.instruction
    assert "rec-diagnostic-ia-hip-injection" not in plan(a)
