"""Every examples/*.json gives, through the HTTP API, exactly what its README line says.

examples/README.md has one table line per example: the category, the plan (the recommendation
codes in order, each with the sides it names) and the findings it must carry (urgency, red-flag
kinds, safety notes, confidence, priority flags). The lines are the contract; this test reads
them and evaluates each file through ``POST /fhir/$hip-spine-evaluate`` of the real app
(issue 10 item 8). The CDS Hooks requests in examples/cds-hooks/ are posted to the real CDS
services (E4-1: a STAT lumbar MRI gets no card; at routine priority one card that only creates).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from flask.testing import FlaskClient

from service.app import create_app
from service.config import Settings
from service.core.assessment import Category, Subtype

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.json"))
HOOKS_DIR = EXAMPLES_DIR / "cds-hooks"
README = EXAMPLES_DIR / "README.md"
HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
LATERALITY = "http://hipspine-cds.org/fhir/StructureDefinition/laterality"
SIDE_CODES = {"7771000": "left", "24028007": "right"}
BASE = "http://127.0.0.1:8080"
WORKED_EXAMPLE = "secondary-functional-worked-example"
#: Finding families a README line lists exactly: a code of these families that the line does
#: not list must be absent (urgency, red-flag kinds and the screen, safety notes, confidence,
#: priority flags). Other findings the line lists (a Diebo type) must be present.
EXACT_FAMILIES = (
    "urgency-",
    "red-flag-",
    "caution-",
    "note-",
    "gluteal-",
    "confidence-",
    "priority-",
)


#: Codes retired in the fourth edition (E4-14, E4-15): never emitted.
RETIRED = {"rec-diagnostic-lumbar-block", "rec-imaging-spinopelvic"}
#: A README table row of an example: file, category, plan, findings, why.
ROW = re.compile(r"^\| `([\w-]+)\.json` \| ([^|]+) \| ([^|]+) \| ([^|]*) \| .* \|$", re.MULTILINE)
PLAN_ITEM = re.compile(r"`(rec-[a-z-]+)`(?: \(([a-z ]+)\))?")


@dataclass(frozen=True)
class Expected:
    """What one README line says an example gives."""

    stem: str
    category: Category
    subtype: Subtype | None
    plan: tuple[tuple[str, tuple[str, ...]], ...]  # (code, sides) in plan order
    findings: frozenset[str]


def parse_category(text: str) -> tuple[Category, Subtype | None]:
    """ "SECONDARY (FUNCTIONAL)" → (Category.SECONDARY, Subtype.FUNCTIONAL)."""
    match = re.fullmatch(r"([A-Z_]+)(?: \(([A-Z_]+)\))?", text.strip())
    assert match, f"not a category: {text!r}"
    subtype = Subtype[match.group(2)] if match.group(2) else None
    return Category[match.group(1)], subtype


def parse_plan(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """ "`rec-a` (left and right); `rec-b`" → (("rec-a", ("left", "right")), ("rec-b", ()))."""
    if text.strip() == "none":
        return ()
    items = []
    for part in text.split(";"):
        match = PLAN_ITEM.fullmatch(part.strip())
        assert match, f"not a plan item: {part!r}"
        sides = tuple(match.group(2).split(" and ")) if match.group(2) else ()
        items.append((match.group(1), sides))
    return tuple(items)


def readme_lines() -> dict[str, Expected]:
    lines = {}
    for (
        stem,
        category,
        plan,
        findings,
    ) in ROW.findall(README.read_text(encoding="utf-8")):
        cat, subtype = parse_category(category)
        listed = frozenset(re.findall(r"`([a-z0-9-]+)`", findings))
        lines[stem] = Expected(stem, cat, subtype, parse_plan(plan), listed)
    return lines


EXPECTED = readme_lines()


def expected_for(stem: str) -> tuple[Category, Subtype | None]:
    """The category (and SECONDARY subtype) a file name says: the longest category prefix."""
    by_length = sorted(Category, key=lambda c: len(c.value), reverse=True)
    for category in by_length:
        slug = category.value.removeprefix("category-")
        if stem == slug or stem.startswith(f"{slug}-"):
            rest = stem.removeprefix(slug).removeprefix("-")
            subtypes = [s for s in Subtype if rest.startswith(s.value.removeprefix("subtype-"))]
            return category, (subtypes[0] if subtypes else None)
    raise AssertionError(f"{stem}.json is not named for a category of clinical-spec §4")


@pytest.fixture(scope="module")
def examples_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path_factory.mktemp("examples-data"),
        public_base_url=BASE,
        cds_auth_required=False,
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["hipspine"].store.close()


def evaluate(client: FlaskClient, path: Path) -> dict[str, Any]:
    response = client.post(
        "/fhir/$hip-spine-evaluate",
        data=path.read_bytes(),
        content_type="application/fhir+json",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json(force=True)
    assert body["resourceType"] == "Bundle" and body["type"] == "collection"
    return body


def resources_of(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def finding_codes(bundle: dict[str, Any]) -> list[str]:
    """Every HSC code in the ClinicalImpression's finding[].itemCodeableConcept."""
    (impression,) = resources_of(bundle, "ClinicalImpression")
    return [
        coding["code"]
        for finding in impression.get("finding", [])
        for coding in finding.get("itemCodeableConcept", {}).get("coding", [])
        if coding.get("system") == HSC
    ]


def plan_of(bundle: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Each CarePlan activity's HSC code and the sides of its laterality extensions."""
    plan = []
    for care_plan in resources_of(bundle, "CarePlan"):
        for activity in care_plan.get("activity", []):
            detail = activity["detail"]
            (code,) = [c["code"] for c in detail["code"]["coding"] if c.get("system") == HSC]
            sides = tuple(
                SIDE_CODES[ext["valueCodeableConcept"]["coding"][0]["code"]]
                for ext in detail.get("extension", [])
                if ext["url"] == LATERALITY
            )
            plan.append((code, sides))
    return plan


def recommendation_codes(bundle: dict[str, Any]) -> list[str]:
    return [code for code, _sides in plan_of(bundle)]


def description_of(bundle: dict[str, Any], code: str) -> str:
    return " ".join(
        str(activity["detail"].get("description", ""))
        for care_plan in resources_of(bundle, "CarePlan")
        for activity in care_plan.get("activity", [])
        if any(c["code"] == code for c in activity["detail"]["code"]["coding"])
    )


def summary_of(bundle: dict[str, Any]) -> str:
    (impression,) = resources_of(bundle, "ClinicalImpression")
    return str(impression.get("summary", ""))


def post_hook(client: FlaskClient, request: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/hip-spine-{request['hook']}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


def hook_file(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((HOOKS_DIR / name).read_text(encoding="utf-8"))
    return payload


# The library ---------------------------------------------------------------------------------


def test_the_library_holds_at_least_one_example_per_category() -> None:
    named = {expected_for(path.stem)[0] for path in EXAMPLE_FILES}
    assert named == set(Category)


def test_the_library_holds_an_example_per_secondary_subtype() -> None:
    named = {expected_for(path.stem)[1] for path in EXAMPLE_FILES}
    assert set(Subtype) <= named


def test_every_example_has_one_readme_line_and_its_category_is_its_file_name() -> None:
    assert sorted(EXPECTED) == sorted(path.stem for path in EXAMPLE_FILES)
    for stem, expected in EXPECTED.items():
        assert (expected.category, expected.subtype) == expected_for(stem), stem


def test_the_readme_line_parser_reads_plans_and_categories() -> None:
    assert parse_plan("`rec-a-b` (left and right); `rec-c`") == (
        ("rec-a-b", ("left", "right")),
        ("rec-c", ()),
    )
    assert parse_plan("none") == ()
    assert parse_category("SECONDARY (HIP_DRIVEN)") == (Category.SECONDARY, Subtype.HIP_DRIVEN)


# What each example gives ----------------------------------------------------------------------


@pytest.mark.parametrize("stem", [path.stem for path in EXAMPLE_FILES])
def test_each_example_gives_the_category_its_file_name_says(
    examples_client: FlaskClient, stem: str
) -> None:
    path = EXAMPLES_DIR / f"{stem}.json"
    category, subtype = expected_for(stem)
    codes = finding_codes(evaluate(examples_client, path))
    assert [c for c in codes if c.startswith("category-")] == [category.value]
    expected_subtypes = [subtype.value] if subtype else []
    assert [c for c in codes if c.startswith("subtype-")] == expected_subtypes


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_each_example_gives_the_category_plan_and_sides_its_readme_line_says(
    examples_client: FlaskClient, stem: str
) -> None:
    """E4-18 (order and sides, §5.3, §5.4), E4-4, E4-21 and every path of the README."""
    expected = EXPECTED[stem]
    bundle = evaluate(examples_client, EXAMPLES_DIR / f"{stem}.json")
    codes = finding_codes(bundle)
    assert [c for c in codes if c.startswith("category-")] == [expected.category.value]
    subtypes = [expected.subtype.value] if expected.subtype else []
    assert [c for c in codes if c.startswith("subtype-")] == subtypes
    assert plan_of(bundle) == list(expected.plan)
    exact = {c for c in codes if c.startswith(EXACT_FAMILIES)}
    assert exact == {f for f in expected.findings if f.startswith(EXACT_FAMILIES)}
    assert expected.findings <= set(codes)


def test_the_worked_example_gets_the_screen_first_then_the_left_programme(
    examples_client: FlaskClient,
) -> None:
    """§8, E4-4: no red-flag item recorded, so rec-red-flag-screen comes before the programme."""
    bundle = evaluate(examples_client, EXAMPLES_DIR / f"{WORKED_EXAMPLE}.json")
    assert plan_of(bundle) == [
        ("rec-red-flag-screen", ()),
        ("rec-combined-hip-lumbar-management", ("left",)),
    ]


def test_no_example_is_given_a_retired_code(examples_client: FlaskClient) -> None:
    """E4-14, E4-15: rec-diagnostic-lumbar-block and rec-imaging-spinopelvic are never
    emitted; a hip injection and a lumbar block are never proposed together."""
    for path in EXAMPLE_FILES:
        codes = set(recommendation_codes(evaluate(examples_client, path)))
        assert not codes & RETIRED, path.stem


def test_the_spine_referral_names_the_blocks_the_specialist_may_choose(
    examples_client: FlaskClient,
) -> None:
    """E4-14: the diagnostic blocks are in the spine referral's text, at the specialist's
    discretion."""
    bundle = evaluate(examples_client, EXAMPLES_DIR / "simple-spine-primary.json")
    assert "block" in description_of(bundle, "rec-spine-referral")


def test_pain_after_a_treatment_is_said_in_plain_words(examples_client: FlaskClient) -> None:
    """E4-24, E4-19: "pain persists after", never "failed", and no flag names in the lead."""
    for stem in ("misdiagnosed-hip-missed", "misdiagnosed-spine-missed"):
        summary = summary_of(evaluate(examples_client, EXAMPLES_DIR / f"{stem}.json"))
        assert "pain persists after" in summary.lower(), stem
        assert "failed" not in summary.lower(), stem
        assert "SPINE_TX_FAILED" not in summary.split("\n")[0], stem


def test_the_minimum_data_set_asks_for_no_lumbar_imaging(examples_client: FlaskClient) -> None:
    """E4-25, Q4-40: INSUFFICIENT_DATA names the minimum set, without lumbar imaging and without
    radiographic parameters that would decide nothing."""
    bundle = evaluate(examples_client, EXAMPLES_DIR / "insufficient-data.json")
    missing = description_of(bundle, "rec-collect-missing-data").lower()
    assert "slr" in missing or "straight leg" in missing
    for word in ("lumbar imaging", "mri", "pelvic incidence", "lordosis"):
        assert word not in missing, word


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_each_example_is_a_valid_collection_bundle_about_one_patient(path: Path) -> None:
    payload = json.loads(path.read_bytes())
    Bundle.model_validate(payload)
    assert payload["type"] == "collection"
    (patient,) = [
        e["resource"] for e in payload["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    for entry in payload["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        if entry["resource"]["resourceType"] != "Patient":
            assert entry["resource"]["subject"] == {"reference": f"Patient/{patient['id']}"}


# CDS Hooks requests -----------------------------------------------------------------------------


def test_the_stat_order_sign_example_gets_no_card(examples_client: FlaskClient) -> None:
    """E4-1, §6.3 step 1: a STAT lumbar MRI on the worked-example chart is never questioned."""
    request = hook_file("order-sign-stat-lumbar-mri-worked-example.json")
    assert request["context"]["draftOrders"]["entry"][0]["resource"]["priority"] == "stat"
    assert post_hook(examples_client, request) == []


def test_the_routine_order_sign_example_gets_one_card_that_only_creates(
    examples_client: FlaskClient,
) -> None:
    """E4-1, Q4-32 (d, f): the same order at routine priority: one card, suggestions only
    ``create``, override reasons offered."""
    request = hook_file("order-sign-routine-lumbar-mri-worked-example.json")
    (card,) = post_hook(examples_client, request)
    actions = [a for s in card.get("suggestions", []) for a in s.get("actions", [])]
    assert actions and {a["type"] for a in actions} == {"create"}
    assert card.get("overrideReasons")


def test_the_order_select_example_selects_its_routine_order_and_gets_one_card_that_only_creates(
    examples_client: FlaskClient,
) -> None:
    """E4-1, Q4-32 (d, f, h): order-select on the worked-example chart, the routine lumbar MRI
    named in ``context.selections``: one card, suggestions only ``create``, override reasons;
    the same request selecting another order is silent (only the selected orders are read)."""
    request = hook_file("order-select-routine-lumbar-mri-worked-example.json")
    assert request["hook"] == "order-select"
    (order,) = [e["resource"] for e in request["context"]["draftOrders"]["entry"]]
    assert (order["status"], order["priority"]) == ("draft", "routine")
    assert request["context"]["selections"] == [f"ServiceRequest/{order['id']}"]
    assert set(request["prefetch"]) == {"patient", "observations", "conditions", "procedures"}
    (card,) = post_hook(examples_client, request)
    actions = [a for s in card.get("suggestions", []) for a in s.get("actions", [])]
    assert actions and {a["type"] for a in actions} == {"create"}
    assert card.get("overrideReasons")
    other = {**request, "hookInstance": "7a0c9e1d-2b3f-4c5d-8e6f-0a1b2c3d4e5f"}
    other["context"] = {**request["context"], "selections": ["ServiceRequest/something-else"]}
    assert post_hook(examples_client, other) == []


def test_the_patient_view_example_gets_one_card(examples_client: FlaskClient) -> None:
    (card,) = post_hook(examples_client, hook_file("patient-view-worked-example.json"))
    assert card["summary"]


def patient_view_of(path: Path) -> dict[str, Any]:
    """A patient-view request whose prefetch holds the example Bundle's resources."""
    resources = [e["resource"] for e in json.loads(path.read_bytes())["entry"]]
    (patient,) = [r for r in resources if r["resourceType"] == "Patient"]

    def searchset(resource_type: str) -> dict[str, Any]:
        found = [r for r in resources if r["resourceType"] == resource_type]
        entries = [{"resource": r, "search": {"mode": "match"}} for r in found]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": entries,
        }

    return {
        "hook": "patient-view",
        "hookInstance": "5f1e7c2a-3b4d-4e6f-8a9b-0c1d2e3f4a5b",
        "context": {"userId": "Practitioner/example", "patientId": patient["id"]},
        "prefetch": {
            "patient": patient,
            "observations": searchset("Observation"),
            "conditions": searchset("Condition"),
            "procedures": searchset("Procedure"),
        },
    }


def test_every_link_of_every_example_card_answers(examples_client: FlaskClient) -> None:
    """E4-20, §6.2: every link of every example's card (and every CarePlan activity's rules-page
    anchor) is absolute on PUBLIC_BASE_URL and answers 200; each card's detail is short."""
    for path in EXAMPLE_FILES:
        for card in post_hook(examples_client, patient_view_of(path)):
            assert len(card.get("detail", "")) < 1500, path.stem
            for link in card.get("links", []):
                url = urlsplit(link["url"])
                assert f"{url.scheme}://{url.netloc}" == BASE, (path.stem, link["url"])
                assert examples_client.get(url.path).status_code == 200, link["url"]


def test_the_committed_examples_are_what_the_build_script_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES_DIR))
    build_examples = importlib.import_module("build_examples")
    built: dict[str, str] = build_examples.build_all()
    on_disk = {
        p.relative_to(EXAMPLES_DIR).as_posix()
        for p in EXAMPLES_DIR.rglob("*")
        if p.suffix in {".json", ".md"}
    }
    assert set(built) == on_disk
    for name, text in built.items():
        assert (EXAMPLES_DIR / name).read_text(encoding="utf-8") == text, name
