"""The safety controls of docs/clinical-safety.md, end to end through the real app.

Each test is a hazard's control as the hazard log names it: a chart goes in through
``POST /fhir/$hip-spine-evaluate`` (or a CDS Hooks call) of ``create_app``, and the test checks
what a clinician would act on — the category, the plan (codes in order, sides), the words.
The spec ids (clinical-spec.md §10, §11) each test holds are in its docstring.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.config import Settings
from service.samples.chart import Chart
from service.samples.codes import ICD10CM, SNOMED, UCUM, body_site, component, concept, hsc

Json = dict[str, Any]
BASE = "http://127.0.0.1:8080"
HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
LATERALITY = "http://hipspine-cds.org/fhir/StructureDefinition/laterality"
VISIT = "2025-03-14T09:30:00Z"
SIDE_CODES = {"7771000": "left", "24028007": "right"}
#: The seven items of RED_FLAG_SCREEN_COMPLETE (§2, Q4-31).
SCREEN = (
    "saddle-anaesthesia",
    "bladder-dysfunction",
    "faecal-incontinence",
    "cancer-history",
    "fever",
    "weight-loss",
    "significant-trauma",
)
#: A §2 flag name (LBP, HIP_SIGNS, RED_FLAG_SCREEN_COMPLETE …): never in the first lines.
FLAG_NAME = re.compile(r"\b(LBP|GROIN_PAIN|[A-Z]{2,}_[A-Z_]{2,})\b")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path_factory.mktemp("safety-data"),
        public_base_url=BASE,
        cds_auth_required=False,
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["hipspine"].store.close()


# Charts ---------------------------------------------------------------------------------------


def chart(birth_date: str = "1970-10-10") -> Chart:
    return Chart(f"pat-{uuid.uuid4().hex[:8]}", "Test", "Patient", "female", birth_date, VISIT)


def pain(c: Chart, site: str, nrs: int, side: str | None = None, **kw: Any) -> None:
    """A pain NRS at ``HSC#site-…`` ``site``, on ``side`` if given."""
    code = concept(("http://loinc.org", "72514-3", "Pain severity"))
    where = body_site(hsc(site), side)
    c.observation("survey", code, {"valueInteger": nrs}, site=where, **kw)


def screen(c: Chart, *, except_: tuple[str, ...] = (), when: str | None = None) -> None:
    """The red-flag screen recorded, every item denied (but those in ``except_``)."""
    for item in SCREEN:
        if item not in except_:
            c.sign(f"rf-{item}", False, **({"when": when} if when else {}))


def weakness(c: Chart, mrc: int) -> None:
    """Myotomal weakness, the weakest muscle's MRC grade ``mrc`` (§1.3, E4-3)."""
    parts = [component("mrc-grade", {"valueInteger": mrc})]
    c.observation(
        "exam", concept(hsc("myotomal-weakness")), {"valueBoolean": True}, components=parts
    )


def duration(c: Chart, weeks: float) -> None:
    """Symptom duration in weeks (§1.3, E4-13)."""
    value = {"valueQuantity": {"value": weeks, "unit": "wk", "system": UCUM, "code": "wk"}}
    c.observation("survey", concept(hsc("symptom-duration")), value)


def physiotherapy(c: Chart, ended: str) -> None:
    """A prior hip–lumbar physiotherapy programme that ended on ``ended`` (§1.3, E4-16)."""
    code = concept(hsc("prior-hip-lumbar-physiotherapy"))
    c.observation("procedure", code, {"valueBoolean": True}, when=ended)


def quiet_hips(c: Chart) -> None:
    """A normal hip examination on both sides: IR 35°, FADIR and FABER negative."""
    for side in ("left", "right"):
        c.rom("internal-rotation", side, 35)
        c.test("fadir", side, False)
        c.test("faber", side, False)


def no_motor_deficit(c: Chart) -> None:
    c.sign("myotomal-weakness", False)
    c.sign("myelopathy-signs", False)


def worked_example(c: Chart) -> None:
    """clinical-spec §8 exactly."""
    pain(c, "site-low-back", 6)
    pain(c, "site-groin", 0)
    c.rom("internal-rotation", "left", 10)
    c.rom("internal-rotation", "right", 32)
    c.test("fadir", "left", True)
    c.test("faber", "left", False)
    c.test("faber", "right", False)
    c.test("slr", "left", False)
    c.test("slr", "right", False)
    c.kl("left", 1)
    c.kl("right", 1)
    c.lumbar_imaging("normal")


def build(*fills: Callable[[Chart], object], birth_date: str = "1970-10-10") -> Chart:
    c = chart(birth_date)
    for fill in fills:
        fill(c)
    return c


# Outputs ---------------------------------------------------------------------------------------


class Result:
    """The output Bundle of one evaluation, read as a clinician reads it."""

    def __init__(self, bundle: Json) -> None:
        self.bundle = bundle

    def of(self, resource_type: str) -> list[Json]:
        entries = self.bundle.get("entry", [])
        return [e["resource"] for e in entries if e["resource"]["resourceType"] == resource_type]

    @property
    def impression(self) -> Json:
        (impression,) = self.of("ClinicalImpression")
        return impression

    @property
    def findings(self) -> list[str]:
        return [
            coding["code"]
            for finding in self.impression.get("finding", [])
            for coding in finding.get("itemCodeableConcept", {}).get("coding", [])
            if coding.get("system") == HSC
        ]

    @property
    def category(self) -> str:
        (category,) = [c for c in self.findings if c.startswith("category-")]
        return category

    @property
    def activities(self) -> list[Json]:
        return [a["detail"] for plan in self.of("CarePlan") for a in plan.get("activity", [])]

    @property
    def plan(self) -> list[str]:
        """The recommendation codes, in plan order."""
        return [
            coding["code"]
            for detail in self.activities
            for coding in detail["code"]["coding"]
            if coding.get("system") == HSC
        ]

    def detail(self, code: str) -> Json:
        (detail,) = [
            d for d in self.activities if any(c["code"] == code for c in d["code"]["coding"])
        ]
        return detail

    def sides(self, code: str) -> list[str]:
        """The sides the laterality extensions of ``code``'s activity name (§5.4, Q4-19)."""
        return [
            SIDE_CODES[ext["valueCodeableConcept"]["coding"][0]["code"]]
            for ext in self.detail(code).get("extension", [])
            if ext["url"] == LATERALITY
        ]

    def description(self, code: str) -> str:
        return str(self.detail(code).get("description", ""))

    @property
    def summary(self) -> str:
        return str(self.impression.get("summary", ""))

    @property
    def notes(self) -> str:
        return "\n".join(n.get("text", "") for n in self.impression.get("note", []))


def evaluate(client: FlaskClient, c: Chart) -> Result:
    response = client.post(
        "/fhir/$hip-spine-evaluate",
        json=c.collection(f"bundle-{c.patient_id}", VISIT),
        content_type="application/fhir+json",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return Result(response.get_json(force=True))


def hook(client: FlaskClient, hook_name: str, c: Chart, **context: Any) -> list[Json]:
    """The cards a CDS Hooks call about ``c`` answers (everything prefetched)."""
    body = {
        "hook": hook_name,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": c.patient_id, **context},
        "prefetch": {
            "patient": c.patient,
            "observations": c.searchset("Observation"),
            "conditions": c.searchset("Condition"),
            "procedures": c.searchset("Procedure"),
        },
    }
    response = client.post(f"/cds-services/hip-spine-{hook_name}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[Json] = response.get_json()["cards"]
    return cards


def lumbar_mri_order(
    c: Chart, priority: str = "routine", reason: tuple[str, str, str] | None = None
) -> Json:
    """A draft lumbar MRI order (CPT 72148) in a ``draftOrders`` Bundle."""
    order: Json = {
        "resourceType": "ServiceRequest",
        "id": "mri-lumbar-1",
        "status": "draft",
        "intent": "order",
        "priority": priority,
        "code": {
            "coding": [
                {
                    "system": "http://www.ama-assn.org/go/cpt",
                    "code": "72148",
                    "display": "MRI lumbar spine without contrast",
                }
            ]
        },
        "subject": {"reference": f"Patient/{c.patient_id}"},
    }
    if reason is not None:
        order["reasonCode"] = [concept(reason)]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]}


def order_sign(client: FlaskClient, c: Chart, **order: Any) -> list[Json]:
    return hook(client, "order-sign", c, draftOrders=lumbar_mri_order(c, **order))


CANCER = (SNOMED, "363346000", "Malignant neoplastic disease")
CAUDA_EQUINA = (SNOMED, "192970008", "Cauda equina syndrome")
LUMBAR_MRI = {"rec-mri-lumbar", "rec-mri-lumbar-urgent"}


# H1: an order hook that would delay an emergency work-up ---------------------------------------


def test_a_stat_lumbar_mri_on_the_worked_example_chart_gets_no_card(client: FlaskClient) -> None:
    """E4-1: a STAT (or urgent, asap) lumbar order is never answered (§6.3 step 1)."""
    c = build(worked_example)
    for priority in ("stat", "urgent", "asap"):
        assert order_sign(client, c, priority=priority) == [], priority


def test_the_same_order_at_routine_priority_gets_one_card_that_only_creates(
    client: FlaskClient,
) -> None:
    """E4-1, Q4-32 (d, f): one card; suggestions only ``create``; override reasons offered."""
    cards = order_sign(client, build(worked_example))
    assert len(cards) == 1
    (card,) = cards
    actions = [a for s in card.get("suggestions", []) for a in s.get("actions", [])]
    assert actions and {a["type"] for a in actions} == {"create"}
    assert card.get("overrideReasons")
    assert not FLAG_NAME.search(card["summary"])


def test_a_lumbar_order_for_a_patient_with_cancer_on_the_problem_list_gets_no_card(
    client: FlaskClient,
) -> None:
    """E4-1, E4-3: a malignancy Condition is a red flag, and red flags silence the hook."""
    c = build(worked_example, lambda c: c.condition(CANCER, "2021-05-02"))
    assert order_sign(client, c) == []


def test_a_lumbar_order_whose_reason_is_cauda_equina_gets_no_card(client: FlaskClient) -> None:
    """E4-1, Q4-32 (c): an order whose reason names a red-flag Condition is not questioned."""
    assert order_sign(client, build(worked_example), reason=CAUDA_EQUINA) == []


# H2: a hip emergency sent to a lumbar MRI ------------------------------------------------------


def septic_hip(c: Chart) -> None:
    screen(c, except_=("fever",))
    c.sign("rf-fever", True)
    pain(c, "site-groin", 9)
    c.test("passive-ir-pain", "right", True)


def test_a_possible_septic_hip_gets_urgent_hip_imaging_and_no_lumbar_mri(
    client: FlaskClient,
) -> None:
    """E4-2, Q4-08, Q4-18: fever with groin NRS 9 and painful passive IR right."""
    result = evaluate(client, build(septic_hip))
    assert result.category == "category-red-flag"
    assert "red-flag-hip" in result.findings
    assert result.plan == ["rec-urgent-evaluation", "rec-imaging-hip-urgent"]
    assert result.sides("rec-imaging-hip-urgent") == ["right"]
    assert not LUMBAR_MRI & set(result.plan)


def fall_with_groin_pain(c: Chart) -> None:
    screen(c, except_=("significant-trauma",))
    c.sign("rf-significant-trauma", True)
    pain(c, "site-groin", 7, side="left")
    c.test("log-roll", "left", True)


def test_a_fall_with_groin_pain_gets_urgent_hip_imaging_and_no_lumbar_mri(
    client: FlaskClient,
) -> None:
    """E4-2, Q4-08, Q4-41: significant trauma with groin pain and log roll + left."""
    result = evaluate(client, build(fall_with_groin_pain))
    assert result.category == "category-red-flag"
    assert "red-flag-hip" in result.findings
    assert result.plan == ["rec-urgent-evaluation", "rec-imaging-hip-urgent"]
    assert result.sides("rec-imaging-hip-urgent") == ["left"]
    assert not LUMBAR_MRI & set(result.plan)


def test_unable_to_weight_bear_alone_is_a_hip_red_flag_without_a_side(
    client: FlaskClient,
) -> None:
    """E4-2, Q4-18: unable to weight-bear; the urgent hip imaging names no side."""
    c = build(lambda c: screen(c), lambda c: c.sign("rf-unable-to-weight-bear", True))
    result = evaluate(client, c)
    assert result.category == "category-red-flag"
    assert "rec-imaging-hip-urgent" in result.plan
    assert result.sides("rec-imaging-hip-urgent") == []
    assert not LUMBAR_MRI & set(result.plan)


def test_fever_with_groin_pain_on_a_replaced_hip_is_a_hip_red_flag(client: FlaskClient) -> None:
    """Q10-06, Q4-14, Q11-02, Q5-01, Q5-02: possible prosthetic infection; the groin pain of the
    replaced side counts, and the urgent imaging names the replaced side."""

    def replaced_and_febrile(c: Chart) -> None:
        c.hip_replacement("right", "2019-05-03")
        screen(c, except_=("fever",))
        c.sign("rf-fever", True)
        pain(c, "site-groin", 8)

    result = evaluate(client, build(replaced_and_febrile))
    assert result.category == "category-red-flag"
    assert result.plan == ["rec-urgent-evaluation", "rec-imaging-hip-urgent"]
    assert result.sides("rec-imaging-hip-urgent") == ["right"]


def test_emergency_words_for_cauda_equina(client: FlaskClient) -> None:
    """Q10-02: emergency department, and an emergency lumbar MRI, in the first words."""

    def cauda_equina(c: Chart) -> None:
        screen(c, except_=("saddle-anaesthesia",))
        c.sign("rf-saddle-anaesthesia", True)
        pain(c, "site-low-back", 8)

    result = evaluate(client, build(cauda_equina))
    assert result.category == "category-red-flag"
    assert result.plan == ["rec-urgent-evaluation", "rec-mri-lumbar-urgent"]
    assert "urgency-emergency" in result.findings
    assert result.summary.startswith("Emergency")
    assert "emergency mri" in result.description("rec-mri-lumbar-urgent").lower()


def test_a_cancer_history_is_never_stale_and_a_malignancy_condition_counts(
    client: FlaskClient,
) -> None:
    """Q7-01, E4-3, Q4-03, Q4-04: an old cancer history, or a C-coded Condition, is a red
    flag with an urgent MRI; a basal-cell carcinoma (C44) is not (Q7-02)."""
    old = build(
        worked_example,
        lambda c: screen(c, except_=("cancer-history",)),
        lambda c: c.sign("rf-cancer-history", True, when="2015-02-01T09:00:00Z"),
    )
    result = evaluate(client, old)
    assert result.category == "category-red-flag"
    assert result.plan == ["rec-urgent-evaluation", "rec-mri-lumbar-urgent"]
    breast = (ICD10CM, "C50.911", "Malignant neoplasm of right female breast")
    condition = build(
        worked_example, lambda c: screen(c), lambda c: c.condition(breast, "2020-01-01")
    )
    assert evaluate(client, condition).plan == ["rec-urgent-evaluation", "rec-mri-lumbar-urgent"]
    bcc = (ICD10CM, "C44.91", "Basal cell carcinoma of skin, unspecified")
    skin = build(worked_example, lambda c: screen(c), lambda c: c.condition(bcc, "2020-01-01"))
    assert evaluate(client, skin).category == "category-secondary"


def test_mrc_3_weakness_is_a_red_flag_and_mrc_4_reaches_a_spine_clinician(
    client: FlaskClient,
) -> None:
    """E4-3, Q4-07, Q10-03: MRC ≤ 3 is a spine red flag with an urgent MRI; MRC 4 is not a red
    flag, but a motor deficit always gets a spine referral (first: SPINE_FIRST)."""
    major = evaluate(client, build(worked_example, lambda c: screen(c), lambda c: weakness(c, 3)))
    assert major.category == "category-red-flag"
    assert major.plan == ["rec-urgent-evaluation", "rec-mri-lumbar-urgent"]
    minor = evaluate(client, build(worked_example, lambda c: screen(c), lambda c: weakness(c, 4)))
    assert minor.category != "category-red-flag"
    assert "rec-spine-referral" in minor.plan
    assert minor.plan[0] in {"rec-mri-lumbar", "rec-spine-referral"}


def test_possible_fragility_fracture_from_age_and_osteoporosis(client: FlaskClient) -> None:
    """Q10-08, Q11-06: osteoporosis at 75 is a spine red flag; at 55 it is not."""
    osteoporosis = (SNOMED, "64859006", "Osteoporosis")

    def fill(c: Chart) -> None:
        worked_example(c)
        screen(c)
        c.condition(osteoporosis, "2019-01-01")

    assert evaluate(client, build(fill, birth_date="1950-01-01")).category == "category-red-flag"
    assert evaluate(client, build(fill, birth_date="1970-01-01")).category == "category-secondary"


# H3: hip manual therapy where it may harm, or before a red-flag screen ------------------------


def test_without_a_recorded_red_flag_screen_the_screen_comes_first(client: FlaskClient) -> None:
    """E4-4, Q4-31, E4-26: §8 exactly gives the screen before the programme; recorded, only
    the programme."""
    bare = evaluate(client, build(worked_example))
    assert bare.plan == ["rec-red-flag-screen", "rec-combined-hip-lumbar-management"]
    assert "red-flag-screen-incomplete" in bare.findings
    asked = bare.description("rec-red-flag-screen").lower()
    for item in ("saddle", "bladder", "faecal", "cancer", "fever", "weight loss", "trauma"):
        assert item in asked, item
    screened = evaluate(client, build(worked_example, lambda c: screen(c)))
    assert screened.plan == ["rec-combined-hip-lumbar-management"]
    assert "red-flag-screen-incomplete" not in screened.findings


def test_a_screen_item_older_than_90_days_must_be_asked_again(client: FlaskClient) -> None:
    """E4-5, E4-6, Q4-05: the screen recorded 91 days before the visit (the reference time is
    the latest Observation's) is not current: screen again, with a warning."""
    c = build(worked_example, lambda c: screen(c, when="2024-12-13T09:00:00Z"))
    result = evaluate(client, c)
    assert result.plan[0] == "rec-red-flag-screen"
    assert "older than 90 days" in result.notes
    current = build(worked_example, lambda c: screen(c, when="2024-12-15T09:30:00Z"))
    assert evaluate(client, current).plan == ["rec-combined-hip-lumbar-management"]


def avn_with_radiculopathy(c: Chart) -> None:
    screen(c)
    c.condition((HSC, "condition-avn", "Avascular necrosis of the hip"), "2024-11-20", side="left")
    pain(c, "site-low-back", 5)
    pain(c, "site-groin", 4, side="left")
    c.rom("internal-rotation", "left", 10)
    c.rom("internal-rotation", "right", 30)
    c.test("fadir", "left", True, location="groin-anterior")
    c.test("slr", "right", True, slr_angle=45)
    c.test("slr", "left", False)
    no_motor_deficit(c)
    c.kl("left", 1)
    c.kl("right", 1)
    c.lumbar_imaging("normal")


def test_avn_gets_an_urgent_orthopaedic_referral_first_no_injection_no_mobilisation(
    client: FlaskClient,
) -> None:
    """E4-8, E4-22, Q10-13, Q11-04, Q4-43, Q4-37: AVN of the left hip in a COMPLEX picture."""
    result = evaluate(client, build(avn_with_radiculopathy))
    assert result.category == "category-complex"
    assert result.plan == ["rec-ortho-hip-referral", "rec-combined-hip-lumbar-management"]
    assert "rec-diagnostic-ia-hip-injection" not in result.plan
    assert result.sides("rec-ortho-hip-referral") == ["left"]
    referral = result.description("rec-ortho-hip-referral").lower()
    assert "urgent" in referral and "mri" in referral
    programme = result.description("rec-combined-hip-lumbar-management").lower()
    assert "avascular necrosis" in programme
    assert "pain-free hip joint mobilisation" not in programme
    assert "caution-no-hip-manual-therapy" in result.findings


def replaced_right_hip(c: Chart) -> None:
    screen(c)
    c.kl("right", 2, when="2019-03-01T09:00:00Z")  # before the replacement: excluded too
    c.hip_replacement("right", "2021-09-12")
    pain(c, "site-low-back", 6)
    pain(c, "site-groin", 0)
    c.kl("right", 4)
    c.rom("internal-rotation", "right", 5)
    c.test("fadir", "right", True)
    c.kl("left", 1)
    c.rom("internal-rotation", "left", 30)
    c.test("fadir", "left", False)
    c.test("faber", "left", False)
    c.test("slr", "left", False)
    c.test("slr", "right", False)
    no_motor_deficit(c)
    c.lumbar_imaging("normal")


def test_a_replaced_hip_is_neither_graded_nor_provoked_nor_mobilised(
    client: FlaskClient,
) -> None:
    """E4-9, E4-8, Q4-11, Q4-12, Q4-13, Q4-43: the right hip is replaced; its KL 4, IR 5° and
    FADIR + (and a KL from before the operation) are excluded, no hip-directed code names it,
    and care names the replacement."""
    result = evaluate(client, build(replaced_right_hip))
    assert "the right hip is replaced" in result.notes
    assert result.category == "category-not-hss-spine"
    assert result.plan == ["rec-lbp-first-line-care"]
    assert "caution-no-hip-manual-therapy" in result.findings
    assert "hip replacement" in result.description("rec-lbp-first-line-care").lower()


def test_a_painful_replaced_hip_is_assessed(client: FlaskClient) -> None:
    """Q10-06, Q11-02: groin pain without side, one hip replaced: referral for that side."""

    def painful(c: Chart) -> None:
        replaced_right_hip(c)
        pain(c, "site-groin", 5, when="2025-03-14T09:40:00Z")

    result = evaluate(client, build(painful))
    assert "rec-ortho-hip-referral" in result.plan
    assert result.sides("rec-ortho-hip-referral") == ["right"]
    assert "arthroplasty" in result.description("rec-ortho-hip-referral").lower()


# H4: a plan that does not say what to do, on which side, how sure, or where to read ---------


def test_each_recommendation_says_what_to_do_on_which_side_and_how_sure(
    client: FlaskClient,
) -> None:
    """E4-17, E4-18, E4-20, Q4-19, Q4-42, Q4-46, Q10-11: the §8 programme, left, very low
    certainty, six weeks, success criterion, rules-page link."""
    result = evaluate(client, build(worked_example, lambda c: screen(c)))
    (plan,) = result.of("CarePlan")
    description = result.description("rec-combined-hip-lumbar-management")
    assert "left" in description and "Certainty of the evidence: very low" in description
    assert result.sides("rec-combined-hip-lumbar-management") == ["left"]
    assert plan["period"]["start"] and plan["period"]["end"]
    assert plan.get("note")
    uri = result.detail("rec-combined-hip-lumbar-management").get("instantiatesUri", [])
    assert f"{BASE}/rules#rec-combined-hip-lumbar-management" in uri


def test_the_first_words_are_plain_and_every_card_link_answers(client: FlaskClient) -> None:
    """E4-19, E4-20, E4-24, Q4-44: the summary and the card open with the lead, no flag
    names; the card's detail is short; every link of the card answers 200."""
    c = build(worked_example, lambda c: screen(c))
    result = evaluate(client, c)
    lead = result.summary.split("\n")[0]
    assert lead.startswith("The left hip"), lead
    assert not FLAG_NAME.search(lead), lead
    (card,) = hook(client, "patient-view", c)
    assert not FLAG_NAME.search(card["summary"])
    assert len(card.get("detail", "")) < 1500
    for link in card.get("links", []):
        url = urlsplit(link["url"])
        assert f"{url.scheme}://{url.netloc}" == BASE, link["url"]
        assert client.get(url.path).status_code == 200, link["url"]


# Other E4 safety controls ----------------------------------------------------------------------


def radicular(slr_angle: float) -> Callable[[Chart], None]:
    def fill(c: Chart) -> None:
        screen(c)
        pain(c, "site-low-back", 5)
        pain(c, "site-leg-below-knee", 6)
        pain(c, "site-groin", 0)
        quiet_hips(c)
        c.test("slr", "right", True, slr_angle=slr_angle)
        c.test("slr", "left", False)
        no_motor_deficit(c)

    return fill


def test_a_non_radicular_slr_does_not_send_the_patient_for_a_lumbar_mri(
    client: FlaskClient,
) -> None:
    """E4-7, Q4-20: SLR + right at 80° is not radicular (no MRI); at 45° it is."""
    high = evaluate(client, build(radicular(80)))
    assert high.category == "category-not-hss-spine"
    assert high.plan == ["rec-lbp-first-line-care"]
    assert "rec-mri-lumbar" in evaluate(client, build(radicular(45))).plan


def test_a_short_radicular_episode_with_a_normal_motor_exam_defers_the_mri(
    client: FlaskClient,
) -> None:
    """E4-13, Q10-05, Q4-30: three weeks, motor examination recorded normal: first-line care
    with the safety net, no MRI; with weakness the MRI is not deferred."""
    short = evaluate(client, build(radicular(45), lambda c: duration(c, 3)))
    assert short.plan == ["rec-lbp-first-line-care"]
    assert "saddle" in short.description("rec-lbp-first-line-care").lower()
    weak = evaluate(
        client, build(radicular(45), lambda c: duration(c, 3), lambda c: weakness(c, 4))
    )
    assert "rec-mri-lumbar" in weak.plan and "rec-spine-referral" in weak.plan
    long = evaluate(client, build(radicular(45), lambda c: duration(c, 8)))
    assert "rec-mri-lumbar" in long.plan


def test_a_crossed_slr_positive_on_one_side_is_not_hidden_by_the_other_side(
    client: FlaskClient,
) -> None:
    """E4-23: crossed SLR + left, then − right later: RADICULAR (lumbar MRI indicated)."""

    def crossed(c: Chart) -> None:
        radicular(45)(c)
        c.test("slr", "right", False, when="2025-03-14T09:35:00Z")
        c.test("slr-crossed", "left", True, when="2025-03-14T09:00:00Z")
        c.test("slr-crossed", "right", False, when="2025-03-14T09:40:00Z")

    assert "rec-mri-lumbar" in evaluate(client, build(crossed)).plan


def test_groin_pain_with_a_negative_hip_exam_names_other_groin_sources(
    client: FlaskClient,
) -> None:
    """E4-10, Q10-09, Q10-10, Q4-15: not a hip sign; the note names hernia and radiculopathy."""

    def groin(c: Chart) -> None:
        radicular(45)(c)
        pain(c, "site-groin", 5, side="right", when="2025-03-14T09:40:00Z")
        c.lumbar_imaging("normal")

    result = evaluate(client, build(groin))
    assert "note-groin-pain-non-hip" in result.findings
    assert not {"rec-imaging-hip-xray", "rec-diagnostic-ia-hip-injection"} & set(result.plan)
    assert result.category == "category-not-hss-spine"


def test_a_stale_injection_does_not_decide_the_pain_source(client: FlaskClient) -> None:
    """E4-12, Q4-29: an injection 21 months old is not used (repeat it) and the hip stays in
    question: COMPLEX with a new injection proposed for the right hip."""

    def stale(c: Chart) -> None:
        screen(c)
        pain(c, "site-low-back", 7)
        pain(c, "site-groin", 5, side="right")
        c.test("fadir", "right", True, location="groin-anterior")
        c.test("slr", "left", True, slr_angle=35)
        c.kl("left", 1)
        c.kl("right", 1)
        c.lumbar_imaging("stenosis", when="2025-02-02")
        c.ia_relief(20, "2023-06-20")

    result = evaluate(client, build(stale))
    assert "older than 12 months" in result.notes
    assert result.category == "category-complex"
    assert result.plan[0] == "rec-diagnostic-ia-hip-injection"
    assert result.sides("rec-diagnostic-ia-hip-injection") == ["right"]


def test_failed_physiotherapy_escalates_instead_of_repeating(client: FlaskClient) -> None:
    """E4-16, Q4-27, Q4-28, E4-14: the §8 patient after a programme that ended in December
    with LBP still 6: a diagnostic hip injection and an orthopaedic referral, no programme."""

    def failed(c: Chart) -> None:
        pain(c, "site-low-back", 6, when="2024-09-01T09:00:00Z")
        physiotherapy(c, "2024-12-01")
        worked_example(c)
        screen(c)

    result = evaluate(client, build(failed))
    assert result.plan == ["rec-diagnostic-ia-hip-injection", "rec-ortho-hip-referral"]
    assert "rec-combined-hip-lumbar-management" not in result.plan


def test_lateral_hip_pain_gets_gluteal_tendinopathy_care(client: FlaskClient) -> None:
    """E4-11, Q4-21, Q4-42: lateral hip pain, trochanter palpation and single-leg stance +
    right: NOT_HSS_HIP, gluteal-tendinopathy care for the right side only (no radiograph)."""

    def lateral(c: Chart) -> None:
        screen(c)
        pain(c, "site-lateral-hip", 6, side="right")
        pain(c, "site-low-back", 0)
        pain(c, "site-groin", 0)
        quiet_hips(c)
        c.test("greater-trochanter-palpation", "right", True)
        c.test("single-leg-stance-30s", "right", True)
        c.test("slr", "left", False)
        c.test("slr", "right", False)
        no_motor_deficit(c)

    result = evaluate(client, build(lateral))
    assert result.category == "category-not-hss-hip"
    assert result.plan == ["rec-gluteal-tendinopathy-care"]
    assert result.sides("rec-gluteal-tendinopathy-care") == ["right"]
    assert "gluteal-signs" in result.findings


# Clauses that can never decide (Q4-35, Q4-36): pinned so that a change that makes them decide
# is noticed -------------------------------------------------------------------------------------


def complex_chart(c: Chart) -> None:
    screen(c)
    pain(c, "site-low-back", 7)
    c.test("fadir", "right", True, location="groin-anterior")
    c.test("slr", "left", True, slr_angle=35)
    c.kl("left", 1)
    c.kl("right", 1)
    c.lumbar_imaging("stenosis", when="2025-02-02")


def test_complex_never_sees_a_known_injection_result(client: FlaskClient) -> None:
    """Q4-35, E4-14: COMPLEX's "if IA relief unknown" cannot decide: with hip and spine
    evidence a known relief is decided by R4, before R6–R8 can make COMPLEX."""
    assert evaluate(client, build(complex_chart)).category == "category-complex"
    for relief in (20, 60, 90):
        known = build(complex_chart)
        known.ia_relief(relief, "2025-03-10")
        assert evaluate(client, known).category != "category-complex", relief


def test_lateral_hip_pain_is_never_no_findings_whatever_the_gluteal_signs(
    client: FlaskClient,
) -> None:
    """Q4-36, E4-11: R11's GLUTEAL_SIGNS clause cannot decide: GLUTEAL_SIGNS needs a lateral hip
    NRS ≥ 1, which R11's pain clause already excludes."""

    def lateral(c: Chart) -> None:
        screen(c)
        pain(c, "site-lateral-hip", 3, side="left")
        pain(c, "site-low-back", 0)
        pain(c, "site-groin", 0)
        quiet_hips(c)
        c.test("greater-trochanter-palpation", "left", False)
        c.test("greater-trochanter-palpation", "right", False)
        c.test("slr", "left", False)
        c.test("slr", "right", False)
        no_motor_deficit(c)
        c.kl("left", 0)
        c.kl("right", 0)
        c.lumbar_imaging("normal")

    assert evaluate(client, build(lateral)).category != "category-no-findings"


# Finer points of §11 that carry a hazard's control ---------------------------------------------


def test_a_cancer_history_is_not_erased_by_a_later_false_or_by_remission(
    client: FlaskClient,
) -> None:
    """Q10-01, Q5-06, Q8-01, Q11-05 (shipped malignancy codes only): a later "no" does not undo
    a recorded cancer history, and a malignancy in remission still counts."""

    def corrected(c: Chart) -> None:
        worked_example(c)
        screen(c, except_=("cancer-history",))
        c.sign("rf-cancer-history", True, when="2018-05-01T09:00:00Z")
        c.sign("rf-cancer-history", False)

    assert evaluate(client, build(corrected)).category == "category-red-flag"

    def in_remission(c: Chart) -> None:
        worked_example(c)
        screen(c)
        condition = c.condition(CANCER, "2016-02-01")
        status = "http://terminology.hl7.org/CodeSystem/condition-clinical"
        condition["clinicalStatus"] = concept((status, "remission", "Remission"))

    result = evaluate(client, build(in_remission))
    assert result.plan == ["rec-urgent-evaluation", "rec-mri-lumbar-urgent"]


FEMORAL_NECK_FRACTURE = (SNOMED, "5913000", "Fracture of neck of femur")


def test_a_recent_femoral_neck_fracture_is_a_hip_red_flag_naming_its_side(
    client: FlaskClient,
) -> None:
    """Q4-08, Q5-05, Q6-02, Q5-01: a femoral-neck fracture Condition of the last 90 days (also
    a periprosthetic one, on a replaced side) gets urgent hip imaging for its side; an old one
    is a manual-therapy precaution, not a red flag."""

    def recent(c: Chart) -> None:
        worked_example(c)
        screen(c)
        c.condition(FEMORAL_NECK_FRACTURE, "2025-02-20", side="left")

    result = evaluate(client, build(recent))
    assert result.plan == ["rec-urgent-evaluation", "rec-imaging-hip-urgent"]
    assert result.sides("rec-imaging-hip-urgent") == ["left"]

    def periprosthetic(c: Chart) -> None:
        recent_chart_without_fracture(c)
        c.hip_replacement("right", "2020-06-01")
        c.condition(FEMORAL_NECK_FRACTURE, "2025-03-01", side="right")

    result = evaluate(client, build(periprosthetic))
    assert result.sides("rec-imaging-hip-urgent") == ["right"]

    def old(c: Chart) -> None:
        worked_example(c)
        screen(c)
        c.condition(FEMORAL_NECK_FRACTURE, "2023-01-10", side="left")

    assert evaluate(client, build(old)).category == "category-secondary"


def recent_chart_without_fracture(c: Chart) -> None:
    worked_example(c)
    screen(c)


def test_major_weakness_is_never_stale(client: FlaskClient) -> None:
    """Q4-06, E4-5: recency applies to the episode red flags only, not to myotomal weakness:
    MRC 3 recorded eight months ago is still a red flag."""

    def old_weakness(c: Chart) -> None:
        worked_example(c)
        screen(c)
        parts = [component("mrc-grade", {"valueInteger": 3})]
        code = concept(hsc("myotomal-weakness"))
        value = {"valueBoolean": True}
        c.observation("exam", code, value, components=parts, when="2024-07-01T09:00:00Z")

    assert evaluate(client, build(old_weakness)).category == "category-red-flag"


def test_old_lumbar_imaging_shows_pathology_but_does_not_replace_a_new_mri(
    client: FlaskClient,
) -> None:
    """Q11-01, Q10-05: stenosis on imaging of 2022 still makes SPINE_PATH, but is not "lumbar
    imaging known": radicular findings today get a lumbar MRI."""
    c = build(radicular(45), lambda c: c.lumbar_imaging("stenosis", when="2022-04-01"))
    result = evaluate(client, c)
    assert result.category == "category-not-hss-spine"
    assert result.plan[0] == "rec-mri-lumbar"


def test_sij_signs_from_faber_alone_ask_for_the_cluster_and_spondyloarthritis(
    client: FlaskClient,
) -> None:
    """Q10-12: SIJ_SIGNS from a FABER with posterior pain alone: complete the cluster and
    consider axial spondyloarthritis."""

    def faber_posterior(c: Chart) -> None:
        screen(c)
        pain(c, "site-low-back", 5)
        pain(c, "site-buttock", 4, side="left")
        pain(c, "site-groin", 0)
        for side in ("left", "right"):
            c.rom("internal-rotation", side, 35)
            c.test("fadir", side, False)
            c.test("slr", side, False)
        c.test("faber", "left", True, location="posterior")
        c.test("faber", "right", False)
        no_motor_deficit(c)
        c.lumbar_imaging("normal")

    result = evaluate(client, build(faber_posterior))
    assert result.plan == ["rec-lbp-first-line-care", "rec-sij-workup"]
    assert "spondyloarthritis" in result.description("rec-sij-workup").lower()


def test_after_failed_physiotherapy_back_pain_alone_gets_a_combined_programme(
    client: FlaskClient,
) -> None:
    """Q10-14, Q5-07, E4-16: with only back pain, the escalation keeps first-line care as a
    combined physical and psychological programme; with radicular signs it is a spine
    referral."""

    def back_pain_only(c: Chart) -> None:
        pain(c, "site-low-back", 6, when="2024-09-02T09:00:00Z")
        physiotherapy(c, "2024-12-01")
        screen(c)
        pain(c, "site-low-back", 6)
        pain(c, "site-groin", 0)
        quiet_hips(c)
        c.test("slr", "left", False)
        c.test("slr", "right", False)
        no_motor_deficit(c)

    result = evaluate(client, build(back_pain_only))
    assert result.plan == ["rec-lbp-first-line-care"]
    assert "psycholog" in result.description("rec-lbp-first-line-care").lower()

    def radicular_after_physiotherapy(c: Chart) -> None:
        pain(c, "site-low-back", 6, when="2024-09-02T09:00:00Z")
        physiotherapy(c, "2024-12-01")
        radicular(45)(c)
        c.lumbar_imaging("disc-herniation", when="2025-02-01")

    result = evaluate(client, build(radicular_after_physiotherapy))
    assert "rec-spine-referral" in result.plan
    assert "rec-lbp-first-line-care" not in result.plan


def test_unused_observations_do_not_move_the_reference_time(client: FlaskClient) -> None:
    """Q4-02, Q5-09, E4-6: a heart rate, an entered-in-error test and a replaced hip's KL grade
    recorded today do not set the reference time: the screen of 2024-12-01 is current against
    the examination of 2024-12-05."""
    exam = "2024-12-05T10:00:00Z"

    def december(c: Chart) -> None:
        pain(c, "site-low-back", 6, when=exam)
        pain(c, "site-groin", 0, when=exam)
        c.rom("internal-rotation", "left", 10, when=exam)
        c.rom("internal-rotation", "right", 32, when=exam)
        c.test("fadir", "left", True, when=exam)
        c.test("faber", "left", False, when=exam)
        c.test("faber", "right", False, when=exam)
        c.test("slr", "left", False, when=exam)
        c.test("slr", "right", False, when=exam)
        c.kl("left", 1, when=exam)
        c.lumbar_imaging("normal", when=exam)
        screen(c, when="2024-12-01T09:00:00Z")
        c.heart_rate(70)  # at the visit, 2025-03-14: not an input of §1.3
        c.test("fadir", "right", True, status="entered-in-error")
        c.hip_replacement("right", "2019-02-01")
        c.kl("right", 4)  # the replaced hip: excluded (§1.2)

    result = evaluate(client, build(december))
    assert "rec-red-flag-screen" not in result.plan
    assert "rec-combined-hip-lumbar-management" in result.plan


def physiotherapy_procedure(c: Chart, **where: Any) -> Json:
    """A completed Procedure SNOMED 91251008 Physical therapy procedure (§1.3, E4-16) that ran
    from September to 2024-12-01, with the given ``bodySite`` / ``reasonCode``."""
    return c._add(
        {
            "resourceType": "Procedure",
            "status": "completed",
            "code": concept((SNOMED, "91251008", "Physical therapy procedure")),
            "subject": c.subject,
            "performedPeriod": {"start": "2024-09-09", "end": "2024-12-01"},
            **where,
        }
    )


def test_a_physiotherapy_procedure_counts_when_it_names_the_hip_or_lumbar_spine(
    client: FlaskClient,
) -> None:
    """Q4-25, Q4-26, Q5-04, Q6-01, Q8-02, Q8-03, Q9-01, Q9-02, E4-16: a physiotherapy Procedure
    ended 2024-12-01 (performedPeriod.end) counts when its reason is lumbar (ICD-10-CM M54.50),
    when it names no region, or when its only bodySite is a side; not when it names the knee."""

    def with_procedure(**where: Any) -> Chart:
        def fill(c: Chart) -> None:
            pain(c, "site-low-back", 6, when="2024-09-02T09:00:00Z")
            physiotherapy_procedure(c, **where)
            worked_example(c)
            screen(c)

        return build(fill)

    escalated = ["rec-diagnostic-ia-hip-injection", "rec-ortho-hip-referral"]
    lumbar = {"reasonCode": [concept((ICD10CM, "M54.50", "Low back pain, unspecified"))]}
    side_only = {"bodySite": [concept((SNOMED, "7771000", "Left"))]}
    knee = {"bodySite": [concept((SNOMED, "72696002", "Knee region structure"))]}
    assert evaluate(client, with_procedure(**lumbar)).plan == escalated
    assert evaluate(client, with_procedure()).plan == escalated
    assert evaluate(client, with_procedure(**side_only)).plan == escalated
    assert evaluate(client, with_procedure(**knee)).plan == ["rec-combined-hip-lumbar-management"]
