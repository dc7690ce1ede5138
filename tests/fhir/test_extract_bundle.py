"""§1 payload shape, subject checks, per-entry validation and digests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from service.core.findings import Motion, Side
from service.errors import InvalidInput, UnprocessableInput
from service.fhir.extract import read_input
from tests.fhir.extract_builders import INDEX, PATIENT, bundle, concept, extract, nrs, obs, rom


def _subject(resource: dict[str, Any], reference: str | None) -> dict[str, Any]:
    resource = dict(resource)
    if reference is None:
        resource.pop("subject")
    else:
        resource["subject"] = {"reference": reference}
    return resource


@pytest.mark.parametrize(
    ("payload", "expression"),
    [
        ({"resourceType": "Observation"}, "resourceType"),
        ({"resourceType": "Bundle", "type": "collection"}, "Bundle.entry"),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": {"not": "a list"}},
            "Bundle.entry",
        ),
        ({"resourceType": "Bundle", "entry": []}, "Bundle.type"),
        ({"resourceType": "Bundle", "type": ["collection"], "entry": []}, "Bundle.type"),
        ({"resourceType": "Bundle", "type": "bogus", "entry": []}, "Bundle.type"),
        ({"resourceType": "Parameters", "parameter": [{"name": "other"}]}, "Parameters.parameter"),
        (
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "observations", "resource": {"resourceType": "Patient"}}],
            },
            "Parameters.parameter[0].resource",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "x"},
                    {
                        "name": "observations",
                        "resource": {"resourceType": "Bundle", "type": "batch"},
                    },
                ],
            },
            "Parameters.parameter[1].resource.entry",
        ),
    ],
)
def test_a_payload_that_is_not_a_usable_bundle_is_invalid_input(
    payload: dict[str, Any], expression: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_input(payload, INDEX)
    assert caught.value.status == 400
    assert caught.value.expression == (expression,)


def test_a_parameters_resource_carries_the_bundle_in_observations() -> None:
    observation = rom("flexion", 100)
    payload = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "note", "valueString": "x"},
            {"name": "observations", "resource": bundle(observation, rom("flexion", 999))},
        ],
    }
    result = read_input(payload, INDEX)
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].source == (
        f"Observation/{observation['id']}"
    )
    assert result.warnings[0].expression == (
        "Parameters.parameter[1].resource.entry[2].resource.valueQuantity",
    )


@pytest.mark.parametrize(
    "reference",
    [
        f"Patient/{PATIENT}",
        f"http://ehr.example.org/fhir/Patient/{PATIENT}",
        f"https://other.example.org/base/Patient/{PATIENT}",
        f"Patient/{PATIENT}/_history/3",
    ],
)
def test_subject_references_match_the_patient_in_every_form(reference: str) -> None:
    result = extract(_subject(rom("flexion", 100), reference))
    assert result.patient_ref == f"Patient/{PATIENT}"
    assert result.findings.rom


def test_a_subject_matching_the_patient_entry_full_url_is_the_patient() -> None:
    payload = bundle(_subject(rom("flexion", 100), "urn:uuid:patient-1"), patient=False)
    payload["entry"].insert(
        0, {"fullUrl": "urn:uuid:patient-1", "resource": {"resourceType": "Patient", "id": "abc"}}
    )
    assert read_input(payload, INDEX).patient_ref == "Patient/abc"


@pytest.mark.parametrize(
    "reference", ["Patient/other", "Patient/p10", "Group/p1", "http://x.org/fhir/Patient/p1x"]
)
def test_an_input_about_another_patient_is_rejected_naming_the_entry(reference: str) -> None:
    with pytest.raises(UnprocessableInput) as caught:
        extract(rom("flexion", 100), _subject(nrs(3), reference))
    assert caught.value.status == 422
    assert caught.value.expression == ("Bundle.entry[2].resource.subject",)


def test_an_irrelevant_observation_about_another_patient_is_also_rejected() -> None:
    heart_rate = obs(concept("http://loinc.org", "8867-4"), valueQuantity={"value": 70})
    with pytest.raises(UnprocessableInput):
        extract(_subject(heart_rate, "Patient/other"))


def test_a_relevant_resource_without_subject_is_rejected() -> None:
    with pytest.raises(UnprocessableInput) as caught:
        extract(_subject(rom("flexion", 100), None))
    assert caught.value.expression == ("Bundle.entry[1].resource.subject",)


def test_an_irrelevant_resource_without_subject_is_left_alone() -> None:
    heart_rate = obs(concept("http://loinc.org", "8867-4"), valueQuantity={"value": 70})
    assert extract(_subject(heart_rate, None), rom("flexion", 100)).findings.rom


def test_two_patient_entries_are_rejected() -> None:
    payload = bundle(rom("flexion", 100))
    payload["entry"].append(copy.deepcopy(payload["entry"][0]))
    with pytest.raises(UnprocessableInput) as caught:
        read_input(payload, INDEX)
    assert caught.value.expression == ("Bundle.entry[0].resource", "Bundle.entry[2].resource")


def test_without_a_patient_entry_the_first_subject_defines_the_patient() -> None:
    payload = bundle(
        _subject(rom("flexion", 100), "Patient/zz"),
        _subject(nrs(2), "http://ehr/fhir/Patient/zz"),
        patient=False,
    )
    assert read_input(payload, INDEX).patient_ref == "Patient/zz"
    payload["entry"][1]["resource"]["subject"] = {"reference": "Patient/yy"}
    with pytest.raises(UnprocessableInput) as caught:
        read_input(payload, INDEX)
    assert caught.value.expression == ("Bundle.entry[1].resource.subject",)


def test_the_route_patient_id_must_match_the_patient_entry() -> None:
    assert extract(rom("flexion", 100), patient_id=PATIENT).patient_ref == f"Patient/{PATIENT}"
    with pytest.raises(UnprocessableInput) as caught:
        extract(rom("flexion", 100), patient_id="other")
    assert caught.value.expression == ("Bundle.entry[0].resource.id",)


def test_the_route_patient_id_must_match_the_subjects_without_a_patient_entry() -> None:
    payload = bundle(rom("flexion", 100), patient=False)
    assert read_input(payload, INDEX, patient_id=PATIENT).patient_ref == f"Patient/{PATIENT}"
    with pytest.raises(UnprocessableInput):
        read_input(payload, INDEX, patient_id="other")


def test_an_empty_bundle_names_no_patient_unless_the_route_does() -> None:
    empty = {"resourceType": "Bundle", "type": "collection", "entry": []}
    with pytest.raises(UnprocessableInput):
        read_input(empty, INDEX)
    result = read_input(empty, INDEX, patient_id="p9")
    assert (result.patient_ref, result.used, result.relevant_count) == ("Patient/p9", (), 0)


def test_a_malformed_irrelevant_entry_never_fails_the_evaluation() -> None:
    broken = {
        "resourceType": "Observation",
        "status": 7,
        "bogus": True,
        "code": concept("http://loinc.org", "8867-4"),
        "valueQuantity": {"value": "x"},
        "subject": {"reference": f"Patient/{PATIENT}"},
    }
    payload = bundle(broken, rom("flexion", 100))
    payload["entry"] += [{"resource": "not an object"}, "junk", {"fullUrl": "urn:uuid:empty"}]
    result = read_input(payload, INDEX)
    assert result.findings.rom and result.warnings == () and result.relevant_count == 1


def test_a_malformed_relevant_entry_becomes_a_warning_naming_entry_and_field() -> None:
    bad = rom("flexion", 100, valueQuantity={"value": "ninety", "unit": "deg"})
    bad["id"] = "bad-rom"
    good = rom("extension", 10)
    result = extract(good, bad)
    assert set(result.findings.rom) == {(Motion.EXTENSION, Side.LEFT)}
    (warning,) = result.warnings
    assert warning.severity == "warning"
    assert "Observation/bad-rom" in warning.diagnostics
    assert warning.expression == ("Bundle.entry[2].resource.valueQuantity.value",)
    assert result.relevant_count == 2


def test_a_malformed_entry_without_id_is_named_by_its_full_url() -> None:
    bad = nrs(3, "site-low-back", effectiveDateTime="2024-13-45")
    del bad["id"]
    payload = bundle(bad)
    payload["entry"][1]["fullUrl"] = "urn:uuid:the-bad-one"
    (warning,) = read_input(payload, INDEX).warnings
    assert warning.diagnostics.startswith("urn:uuid:the-bad-one")
    assert warning.expression == ("Bundle.entry[1].resource.effectiveDateTime",)


def test_a_used_input_without_id_is_referenced_by_its_full_url() -> None:
    observation = rom("flexion", 100)
    del observation["id"]
    payload = bundle(observation)
    payload["entry"][1]["fullUrl"] = "urn:uuid:1234"
    result = read_input(payload, INDEX)
    assert [u.reference for u in result.used] == ["urn:uuid:1234"]
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].source == "urn:uuid:1234"


def test_codes_that_mean_different_inputs_exclude_the_observation() -> None:
    code = {
        "coding": [
            concept("http://hipspine-cds.org/fhir/CodeSystem/hsc", "test-fadir")["coding"][0],
            concept("http://loinc.org", "72514-3")["coding"][0],
        ]
    }
    result = extract(obs(code, valueInteger=3))
    assert result.used == () and len(result.warnings) == 1


def test_used_lists_each_input_once_in_bundle_order_with_its_group() -> None:
    a, b = nrs(3, "site-low-back"), rom("internal-rotation", 20, "both")
    result = extract(a, b)
    assert [(u.reference, u.group) for u in result.used] == [
        (f"Observation/{a['id']}", "pain"),
        (f"Observation/{b['id']}", "hip-rom"),
    ]


def test_irrelevant_entries_never_change_the_used_digest_but_change_the_input_digest() -> None:
    relevant = [rom("flexion", 100), nrs(4, "site-groin")]
    plain = extract(*relevant)
    noisy = extract(
        obs(concept("http://loinc.org", "8867-4"), valueQuantity={"value": 70}), *reversed(relevant)
    )
    assert plain.used_digest == noisy.used_digest
    assert plain.input_digest != noisy.input_digest
    changed = copy.deepcopy(relevant)
    changed[0]["valueQuantity"]["value"] = 101
    assert extract(*changed).used_digest != plain.used_digest


def test_the_input_digest_is_the_sha256_of_canonical_json() -> None:
    import hashlib

    import orjson

    payload = bundle(rom("flexion", 100))
    expected = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert read_input(payload, INDEX).input_digest == expected
    reordered = dict(reversed(list(payload.items())))
    assert read_input(reordered, INDEX).input_digest == expected


def test_decimal_parsed_payloads_are_read_exactly() -> None:
    import json
    from decimal import Decimal

    payload = json.loads(json.dumps(bundle(rom("flexion", 66.4))), parse_float=Decimal)
    result = read_input(payload, INDEX)
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].value == Decimal("66.4")
