"""Every resource the service can emit is validated here, not per call (issue 14 item 1).

R4B (required elements, types, no unknown elements), R4 reference targets, the narrative and the
required bindings (:func:`service.fhir.emitted.emitted_problems`) over: every ``examples/*.json``
(the answer Bundle, the audit record's resources, the card's suggested CarePlan, every order-hook
suggestion), the property tests' random charts, and random core Findings through the builders.
A deliberately broken builder is caught here and by the start-up self-check.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from service.app import create_app
from service.cds_hooks.order_hooks import suggestions
from service.config import Settings
from service.core import evaluate
from service.core.findings import Findings
from service.core.thresholds import Thresholds
from service.fhir import outputs
from service.fhir.emitted import emitted_problems
from service.fhir.outputs import build_outputs, output_bundle
from service.fhir.profiles import Profiles, default_profiles_dir
from service.fhir.site_maps import load_index
from service.pipeline import Pipeline
from service.selfcheck import SelfCheckFailed, emitted_resources, problems_of, self_check
from tests.core.test_properties import SETTINGS
from tests.core.test_properties import findings as random_findings
from tests.fhir import assessment_samples as s
from tests.test_properties import PROPERTY, bundles

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))


@functools.cache
def pipeline() -> Pipeline:
    return Pipeline(
        index=load_index(None).index,
        profiles=Profiles.load(default_profiles_dir()),
        thresholds=Thresholds(),
        store=None,  # type: ignore[arg-type]  # emitted_resources evaluates through its own store
        public_base_url=s.BASE,
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_resource_emitted_for_an_example_is_valid(example: Path) -> None:
    payload = json.loads(example.read_text(encoding="utf-8"))
    emitted = emitted_resources(pipeline(), payload)
    kinds = {r["resourceType"] for r in emitted}
    assert {"Bundle", "ClinicalImpression", "Provenance", "AuditEvent", "GuidanceResponse"} <= kinds
    assert [p for r in emitted for p in emitted_problems(r)] == []


def test_the_examples_cover_card_care_plans_and_order_suggestions() -> None:
    kinds = [
        r["resourceType"]
        for example in EXAMPLES
        for r in emitted_resources(pipeline(), json.loads(example.read_text(encoding="utf-8")))
    ]
    assert kinds.count("CarePlan") > len(EXAMPLES)  # recorded + suggested
    assert "ServiceRequest" in kinds


@PROPERTY
@given(payload=bundles())
def test_every_resource_emitted_for_a_random_chart_is_valid(payload: dict[str, Any]) -> None:
    assert problems_of(pipeline(), payload) == []


@SETTINGS
@given(random_findings())
def test_every_resource_built_from_random_findings_is_valid(f: Findings) -> None:
    profiles = pipeline().profiles
    assessment = evaluate(f, profiles.rule_set, Thresholds())
    out = build_outputs(
        assessment, s.extraction(), recorded=s.RECORDED, profiles=profiles, public_base_url=s.BASE
    )
    emitted: list[dict[str, Any]] = [output_bundle(out, None)]
    if out.suggested_care_plan is not None:
        emitted.append(out.suggested_care_plan)
    for suggestion in suggestions(assessment, "hook-1", "p1"):
        emitted += [a["resource"] for a in suggestion["actions"]]
    assert [p for r in emitted for p in emitted_problems(r)] == []


# --- a broken builder is caught ------------------------------------------------------------------


def _broken(json_ready: Any, key: str, value: Any) -> Any:
    """``json_ready`` that slips ``key: value`` into every ClinicalImpression it returns."""

    def wrapper(body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = json_ready(body)
        if result.get("resourceType") == "ClinicalImpression":
            result[key] = value
        return result

    return wrapper


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("status", 7, "not valid R4B"),  # wrong type
        ("colour", "blue", "not valid R4B"),  # unknown element
        ("status", "final", "binding ClinicalImpression.status=final"),  # required binding
        ("subject", {"reference": "Device/d1"}, "reference ClinicalImpression.subject -> Device"),
        ("text", {"status": "generated", "div": "<div>x</div>"}, "narrative"),
    ],
)
def test_a_broken_builder_fails_the_tests_and_the_self_check(
    monkeypatch: pytest.MonkeyPatch, key: str, value: Any, expected: str
) -> None:
    monkeypatch.setattr(outputs, "json_ready", _broken(outputs.json_ready, key, value))
    payload = json.loads(EXAMPLES[0].read_text(encoding="utf-8"))
    problems = problems_of(pipeline(), payload)
    assert problems
    assert any(expected in p for p in problems), problems
    with pytest.raises(SelfCheckFailed, match=expected.split()[0]):
        self_check(pipeline())


def test_a_missing_required_element_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = outputs.json_ready

    def without_status(body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = real(body)
        if result.get("resourceType") == "CarePlan":
            del result["status"]
        return result

    monkeypatch.setattr(outputs, "json_ready", without_status)
    problems = problems_of(pipeline(), json.loads(EXAMPLES[0].read_text(encoding="utf-8")))
    assert any("CarePlan: not valid R4B" in p and "status" in p for p in problems), problems


# --- the start-up self-check ----------------------------------------------------------------------


def test_the_self_check_passes_and_is_fast() -> None:
    assert self_check(pipeline()) < 5.0


def test_a_failing_self_check_stops_create_app_with_one_log_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import service.selfcheck

    monkeypatch.setattr(service.selfcheck, "_passed", False)
    monkeypatch.setattr(outputs, "json_ready", _broken(outputs.json_ready, "colour", "blue"))
    settings = Settings.from_env({}).with_overrides(data_dir=tmp_path / "data")
    with pytest.raises(SelfCheckFailed):
        create_app(settings)
    lines = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if '"hipspine.selfcheck"' in line
    ]
    assert len(lines) == 1
    assert lines[0]["level"] == "CRITICAL"
    assert lines[0]["message"].startswith("start-up self-check failed: chart 'red-flag': ")
    assert "colour" in lines[0]["message"]


def test_the_self_check_runs_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import service.selfcheck

    calls: list[int] = []

    def counting(p: Pipeline) -> float:
        calls.append(1)
        return 0.0

    monkeypatch.setattr(service.selfcheck, "_passed", False)
    monkeypatch.setattr(service.selfcheck, "self_check", counting)
    service.selfcheck.self_check_once(pipeline())
    service.selfcheck.self_check_once(pipeline())
    assert calls == [1]


def test_checked_is_json_ready_after_r4b_accepted_it() -> None:
    from fhir.resources.R4B.operationoutcome import OperationOutcome
    from pydantic import ValidationError

    from service.fhir.validated import checked, json_ready

    body: dict[str, Any] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "expression": []}],
    }
    assert checked(OperationOutcome, body) == json_ready(body)
    assert "expression" not in json_ready(body)["issue"][0]  # FHIR JSON has no []
    with pytest.raises(ValidationError):
        checked(OperationOutcome, {"resourceType": "OperationOutcome", "issue": [{"code": 5}]})
