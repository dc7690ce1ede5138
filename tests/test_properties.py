"""Property tests over whole Bundles (issue 2): determinism, red flags, irrelevant inputs."""

from __future__ import annotations

from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.pipeline import Pipeline
from tests.contract.bundles import LOINC, NEG, POS, UCUM, bundle, deg, nrs, obs

SIDES = st.sampled_from(["left", "right"])
RESULT = st.sampled_from([POS, NEG])


@st.composite
def relevant_observation(draw: st.DrawFn, index: int) -> dict[str, Any]:
    oid = f"o{index}"
    when = f"2026-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}T10:00:00Z"
    kind = draw(st.integers(0, 7))
    if kind == 0:
        motion = draw(st.sampled_from(["internal-rotation", "external-rotation", "extension"]))
        return obs(
            oid, f"hip-rom-{motion}", side=draw(SIDES), when=when, **deg(draw(st.integers(-10, 60)))
        )
    if kind == 1:
        test = draw(st.sampled_from(["test-fadir", "test-faber", "test-slr", "test-thomas"]))
        return obs(oid, test, side=draw(SIDES), when=when, valueCodeableConcept=draw(RESULT))
    if kind == 2:
        site = draw(st.sampled_from(["site-low-back", "site-groin", "site-buttock"]))
        return nrs(oid, site, draw(st.integers(0, 10)), when=when)
    if kind == 3:
        return obs(
            oid, "kl-grade-hip", side=draw(SIDES), when=when, valueInteger=draw(st.integers(0, 4))
        )
    if kind == 4:
        code = draw(
            st.sampled_from(
                [
                    "pelvic-incidence",
                    "lumbar-lordosis",
                    "sacral-slope-seated",
                    "sacral-slope-standing",
                ]
            )
        )
        return obs(oid, code, when=when, **deg(draw(st.integers(20, 70))))
    if kind == 5:
        sign = draw(st.sampled_from(["neurogenic-claudication", "myotomal-weakness"]))
        return obs(oid, sign, when=when, valueBoolean=draw(st.booleans()))
    if kind == 6:
        test = draw(
            st.sampled_from(
                [
                    "test-sij-distraction",
                    "test-sij-compression",
                    "test-sij-thigh-thrust",
                    "test-slump",
                ]
            )
        )
        return obs(oid, test, when=when, valueCodeableConcept=draw(RESULT))
    finding = draw(st.sampled_from(["finding-normal", "finding-stenosis"]))
    return obs(
        oid,
        "lumbar-imaging-finding",
        when=when,
        valueCodeableConcept={
            "coding": [{"system": "http://hipspine-cds.org/fhir/CodeSystem/hsc", "code": finding}]
        },
    )


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 14))
    return bundle(*[draw(relevant_observation(i)) for i in range(n)])


IRRELEVANT = obs(
    "hr",
    "8867-4",
    system=LOINC,
    valueQuantity={"value": 72, "unit": "/min", "system": UCUM, "code": "/min"},
)
RED_FLAG = obs("rf", "rf-saddle-anaesthesia", valueBoolean=True)

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _result(pipeline: Pipeline, payload: dict[str, Any]) -> tuple[Any, ...]:
    extraction, assessment = pipeline.assess(payload)
    return (
        assessment.category,
        assessment.subtype,
        assessment.conclusions,
        assessment.recommendations,
        assessment.summary,
        extraction.used_digest,
    )


@PROPERTY
@given(payload=bundles())
def test_evaluation_is_deterministic(app: Flask, payload: dict[str, Any]) -> None:
    pipeline = app.extensions["hipspine"].pipeline
    assert _result(pipeline, payload) == _result(pipeline, payload)


@PROPERTY
@given(payload=bundles(), extra=st.lists(st.integers(0, 10_000), max_size=4))
def test_adding_observations_never_removes_a_red_flag(
    app: Flask, payload: dict[str, Any], extra: list[int]
) -> None:
    pipeline = app.extensions["hipspine"].pipeline
    payload["entry"].append({"fullUrl": "urn:uuid:rf", "resource": RED_FLAG})
    _, before = pipeline.assess(payload)
    assert before.category.name == "RED_FLAG"
    for i, seed in enumerate(extra):
        more = nrs(f"extra{i}", "site-low-back", seed % 11, when="2026-12-01T10:00:00Z")
        payload["entry"].append({"fullUrl": f"urn:uuid:extra{i}", "resource": more})
    _, after = pipeline.assess(payload)
    assert after.category.name == "RED_FLAG"


@PROPERTY
@given(payload=bundles())
def test_an_irrelevant_observation_never_changes_the_result(
    app: Flask, payload: dict[str, Any]
) -> None:
    pipeline = app.extensions["hipspine"].pipeline
    before = _result(pipeline, payload)
    payload["entry"].append({"fullUrl": "urn:uuid:hr", "resource": IRRELEVANT})
    assert _result(pipeline, payload) == before
