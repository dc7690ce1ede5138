"""The cheaper output building (issue 14: per-call cost) gives exactly what it replaced.

``json_ready`` prunes and converts in one walk instead of a pruning walk followed by an orjson
round trip of the whole body; ``build_outputs`` derives the card's CarePlan from the built one
instead of building it twice. Both are compared with the definitions they replaced.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from service.fhir.extraction import InputRef
from service.fhir.outputs import build_outputs, card_copy, care_plan
from service.fhir.profiles import Profiles, default_profiles_dir
from service.fhir.validated import json_ready
from service.pipeline import Caller, Pipeline
from tests.fhir import assessment_samples as s

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))
CALLER = Caller(kind="cli", client="test", request_id="test")


def _reference_pruned(node: Any) -> Any:
    """The pruning walk ``json_ready`` ran before issue 14."""
    if isinstance(node, dict):
        out = {k: _reference_pruned(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(node, list):
        items = [_reference_pruned(v) for v in node]
        return [v for v in items if v is not None and v != [] and v != {}]
    return node


def reference_json_ready(body: dict[str, Any]) -> Any:
    """``json_ready`` before issue 14: prune, then an orjson round trip of the whole body."""
    return orjson.loads(orjson.dumps(_reference_pruned(body), option=orjson.OPT_UTC_Z))


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
DATETIMES = st.builds(
    lambda d, tz: d.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    ZONES,
)
LEAVES = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    DATETIMES,
    st.tuples(st.text(max_size=3), st.integers(0, 9)),
    st.just(()),
)
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(st.text(max_size=6), TREES, max_size=6))
def test_json_ready_gives_what_pruning_and_the_orjson_round_trip_gave(
    body: dict[str, Any],
) -> None:
    expected = reference_json_ready(body)
    got = json_ready(body)
    assert got == expected
    assert orjson.dumps(got) == orjson.dumps(expected)  # key order and types too


def test_json_ready_shares_no_container_with_the_body() -> None:
    inner: dict[str, Any] = {"reference": "Observation/a"}
    body: dict[str, Any] = {"a": [inner], "b": {"c": [1, None, {}]}, "d": datetime(2026, 1, 1)}
    out = json_ready(body)
    assert out == {
        "a": [{"reference": "Observation/a"}],
        "b": {"c": [1]},
        "d": "2026-01-01T00:00:00",
    }
    out["a"][0]["reference"] = "changed"
    out["b"]["c"].append(2)
    assert inner == {"reference": "Observation/a"} and body["b"] == {"c": [1, None, {}]}


def test_json_ready_refuses_a_key_orjson_refuses() -> None:
    with pytest.raises(TypeError):
        json_ready({"a": {1: "x"}})


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load(default_profiles_dir())


@pytest.mark.parametrize(
    "used",
    [
        s.USED,
        (InputRef("urn:uuid:0b6f6f0e-8c1c-4b8e-9a39-5f0b7f7a9d11", "pain"),),  # none resolvable
        (),
    ],
)
@pytest.mark.parametrize("sample", [s.functional_secondary, s.every_order_code, s.no_findings])
def test_the_card_copy_is_the_care_plan_built_for_the_card(
    profiles: Profiles, sample: Any, used: tuple[InputRef, ...]
) -> None:
    extraction = s.extraction(used=used)
    kw: dict[str, Any] = {"recorded": s.RECORDED, "profiles": profiles, "public_base_url": s.BASE}
    out = build_outputs(sample(), extraction, **kw)
    for_card = care_plan(sample(), extraction, for_card=True, **kw)
    assert out.suggested_care_plan == for_card
    assert orjson.dumps(out.suggested_care_plan) == orjson.dumps(for_card)
    if out.care_plan is not None:
        assert card_copy(out.care_plan) == for_card


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_suggests_the_care_plan_built_for_the_card(app: Flask, path: Path) -> None:
    pipeline: Pipeline = app.extensions["hipspine"].pipeline
    result = pipeline.evaluate(json.loads(path.read_text()), caller=CALLER)
    for_card = care_plan(
        result.assessment,
        result.extraction,
        recorded=datetime.fromisoformat(result.outputs.provenance["recorded"]),
        profiles=pipeline.profiles,
        public_base_url=pipeline.public_base_url,
        for_card=True,
    )
    assert orjson.dumps(result.outputs.suggested_care_plan) == orjson.dumps(for_card)
