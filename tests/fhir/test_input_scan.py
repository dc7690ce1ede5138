"""The scan of a Bundle keeps what the input contract needs of irrelevant entries, once.

Issue 14 items 2 and 5: a chart's hundreds of labs and vitals are looked at once, never
validated, and kept only when they matter: an Observation whose codes no ConceptMap recognises
(it is listed), or the first entry giving a subject reference (the subject check judges every
later one with the same reference alike).
"""

from __future__ import annotations

from typing import Any

import pytest

from service.errors import UnprocessableInput
from service.fhir import parse
from service.fhir.extract import read_input
from service.fhir.parse import scan, unwrap
from service.fhir.unrecognised import MARK
from tests.fhir.extract_builders import INDEX, LOINC, PATIENT, concept, lateral, obs, qty

LOCAL = "http://hospital.example.org/flowsheet"


def vital(n: int, subject: str = f"Patient/{PATIENT}", system: str = LOINC) -> dict[str, Any]:
    resource = obs(concept(system, "8867-4"), valueQuantity=qty(70 + n % 9, "/min"))
    resource["subject"] = {"reference": subject}
    return resource


def chart(*resources: dict[str, Any]) -> dict[str, Any]:
    patient = {"resourceType": "Patient", "id": PATIENT}
    entries = [{"resource": r} for r in (patient, *resources)]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_irrelevant_entries_with_the_same_subject_are_kept_once() -> None:
    rom = obs("hip-rom-flexion", bodySite=lateral("left"), valueQuantity=qty(100))
    local = vital(0, system=LOCAL)
    payload = chart(*(vital(n) for n in range(500)), rom, local, vital(501))
    bundle, base = unwrap(payload)
    found = scan(bundle, base, INDEX)
    kept = [(s.entry.index, s.relevant, s.recognised) for s in found.subjects]
    assert kept == [(1, False, True), (501, True, True), (502, False, False)]
    result = read_input(payload, INDEX)
    assert result.relevant_count == 1 and result.findings.rom
    (listed,) = [w for w in result.warnings if MARK in w.diagnostics]
    assert listed.expression == ("Bundle.entry[502].resource.code",)


def test_the_first_entry_with_a_wrong_subject_is_named() -> None:
    payload = chart(
        vital(0),
        vital(1, subject="Patient/other"),
        vital(2, subject="Patient/other"),
        vital(3, subject="Patient/third"),
    )
    with pytest.raises(UnprocessableInput) as raised:
        read_input(payload, INDEX)
    assert raised.value.expression == ("Bundle.entry[2].resource.subject",)
    assert "Patient/other" in raised.value.diagnostics


def test_a_wrong_subject_seen_again_later_is_still_refused() -> None:
    rom = obs("hip-rom-flexion", bodySite=lateral("left"), valueQuantity=qty(100))
    rom["subject"] = {"reference": "Patient/other"}
    payload = chart(vital(0, subject="Patient/other"), rom)
    with pytest.raises(UnprocessableInput) as raised:
        read_input(payload, INDEX)
    assert raised.value.expression == ("Bundle.entry[1].resource.subject",)


def test_without_a_patient_entry_the_first_reference_still_names_the_patient() -> None:
    payload = chart(vital(0), vital(1), vital(2, subject="Patient/other"))
    del payload["entry"][0]
    with pytest.raises(UnprocessableInput) as raised:
        read_input(payload, INDEX)
    assert "(Patient/p1)" in raised.value.diagnostics
    assert raised.value.expression == ("Bundle.entry[2].resource.subject",)


def test_the_code_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "CODE_MEMO_MAX", 10)
    codes = parse._Codes(INDEX)
    monkeypatch.setitem(parse._Codes._by_index, id(INDEX), codes)
    payload = chart(*(obs(concept(LOCAL, f"c{n}")) for n in range(50)))
    read_input(payload, INDEX)
    assert len(codes.memo) == 10
    assert codes.spec(LOINC, "8867-4") is None and len(codes.memo) == 10
