"""Every override reason a card offers is a code of a CodeSystem in ``profiles/``, with the same
display, and the ValueSet ``cds-override-reasons`` holds exactly those reasons (CDS Hooks 2.0
``overrideReasons``; clinical-spec §6.3, Q4-32f)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from service.cds_hooks import cards
from service.fhir.profiles import Profiles, default_profiles_dir

REPO = Path(__file__).resolve().parents[2]
VALUE_SET = "http://hipspine-cds.org/fhir/ValueSet/cds-override-reasons"


def _resources() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(REPO.glob("profiles/*.json"))]


def _code_systems() -> dict[str, dict[str, str]]:
    """url -> code -> display, for every CodeSystem in profiles/."""
    return {
        r["url"]: {c["code"]: c["display"] for c in r.get("concept", ())}
        for r in _resources()
        if r["resourceType"] == "CodeSystem"
    }


def _offered() -> list[dict[str, str]]:
    return [*cards.override_reasons(), *cards.order_override_reasons()]


def test_the_cards_module_offers_no_reason_outside_its_two_lists() -> None:
    """A code written into cards.py with the override-reason system is in override_reasons()."""
    source = (REPO / "service" / "cds_hooks" / "cards.py").read_text(encoding="utf-8")
    written = set(re.findall(r'OVERRIDE_REASONS,\s*"code":\s*"([^"]+)"', source))
    assert written, "the pattern no longer finds the patient-view reasons in cards.py"
    assert written == {c["code"] for c in cards.override_reasons()}


@pytest.mark.parametrize("coding", _offered(), ids=lambda c: c["code"])
def test_every_offered_override_reason_is_in_a_codesystem_of_profiles(
    coding: dict[str, str],
) -> None:
    systems = _code_systems()
    assert coding["system"] in systems, f"no CodeSystem {coding['system']} in profiles/"
    assert systems[coding["system"]].get(coding["code"]) == coding["display"]


def test_the_patient_view_reasons_codesystem_is_complete() -> None:
    [system] = [r for r in _resources() if r.get("url") == cards.OVERRIDE_REASONS]
    assert system["content"] == "complete"
    assert system["count"] == len(system["concept"])
    assert {c["code"] for c in system["concept"]} == {c["code"] for c in cards.override_reasons()}
    assert all(c.get("definition") for c in system["concept"])


def test_the_value_set_holds_exactly_the_offered_reasons() -> None:
    [value_set] = [r for r in _resources() if r.get("url") == VALUE_SET]
    systems = _code_systems()
    members: set[tuple[str, str]] = set()
    for include in value_set["compose"]["include"]:
        concepts = include.get("concept")
        if concepts is None:  # the whole CodeSystem
            members |= {(include["system"], code) for code in systems[include["system"]]}
        else:
            for concept in concepts:
                assert systems[include["system"]][concept["code"]] == concept["display"]
                members.add((include["system"], concept["code"]))
    assert members == {(c["system"], c["code"]) for c in _offered()}


def test_the_profiles_still_load() -> None:
    Profiles.load(default_profiles_dir())
