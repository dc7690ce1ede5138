"""The FHIR audit resources: valid R4 (fhir.resources R4B), BALP-style, and free of tokens."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.guidanceresponse import GuidanceResponse

from service.fhir.audit_resources import (
    AUDIT_ENTITY_TYPE,
    BALP_ENTITY_TYPE,
    DCM,
    OBJECT_ROLE,
    feedback_audit_event,
)
from tests.audit.records import BASE_TIME, RULE_SET, make_record


def _resource(kind: str, i: int = 1, hook: bool = True) -> dict[str, Any]:
    return next(dict(r) for r in make_record(i, hook=hook).resources if r["resourceType"] == kind)


def test_the_audit_event_follows_balp_for_an_operation() -> None:
    event: Any = AuditEvent.model_validate(_resource("AuditEvent"))  # optional fields: Any
    assert (event.type.system, event.type.code) == (
        "http://terminology.hl7.org/CodeSystem/audit-event-type",
        "rest",
    )
    assert [(c.system, c.code) for c in event.subtype] == [
        ("http://hl7.org/fhir/restful-interaction", "operation")
    ]
    assert (event.action, event.outcome) == ("E", "0")
    roles = {a.type.coding[0].code for a in event.agent}
    assert {"110153", "110152"} <= roles
    assert all(a.type.coding[0].system == DCM for a in event.agent if a.type.coding[0].code
               in {"110153", "110152"})  # fmt: skip


def test_the_audit_event_names_the_patient_and_the_hook_instance() -> None:
    body = _resource("AuditEvent")
    patient = next(e for e in body["entity"] if e["type"]["code"] == "1")
    assert patient["type"]["system"] == AUDIT_ENTITY_TYPE
    assert (patient["role"]["system"], patient["role"]["code"]) == (OBJECT_ROLE, "1")
    assert patient["what"]["reference"] == "Patient/p1"
    transaction = next(e for e in body["entity"] if e["type"]["system"] == BALP_ENTITY_TYPE)
    assert transaction["what"]["identifier"]["value"] == "00000000-0000-4000-8000-000000000001"


def test_without_a_hook_the_transaction_entity_is_the_request_id() -> None:
    body = _resource("AuditEvent", 2, hook=False)
    transaction = next(e for e in body["entity"] if e["type"]["system"] == BALP_ENTITY_TYPE)
    assert transaction["what"]["identifier"]["value"] == "req-2"


def test_a_known_user_is_the_requestor_agent() -> None:
    agents = _resource("AuditEvent", 1)["agent"]
    user = [a for a in agents if a.get("who", {}).get("reference") == "Practitioner/dr-1"]
    assert len(user) == 1 and user[0]["requestor"] is True


def test_the_guidance_response_carries_the_hook_instance_and_the_rule_set() -> None:
    gr: Any = GuidanceResponse.model_validate(_resource("GuidanceResponse", 4))
    assert gr.requestIdentifier.value == "00000000-0000-4000-8000-000000000004"
    assert gr.moduleUri == RULE_SET and gr.status == "success"
    assert gr.subject.reference == "Patient/p4" and gr.result.reference == "CarePlan/cp-4"
    assert gr.performer.reference.startswith("Device/")
    assert gr.identifier and gr.identifier[0].value
    assert gr.extension[0].url.endswith("cqf-cdsHooksEndpoint")


def test_the_ids_are_the_same_when_the_same_request_is_replayed() -> None:
    assert _resource("AuditEvent", 5)["id"] == _resource("AuditEvent", 5)["id"]
    assert _resource("AuditEvent", 5)["id"] != _resource("AuditEvent", 6)["id"]


def test_the_feedback_audit_event_is_valid_and_keeps_the_override_reason() -> None:
    body = feedback_audit_event(
        recorded=BASE_TIME, client="https://ehr.example.org", service_id="hip-spine",
        card_uuid="card-1", outcome="overridden", outcome_timestamp="2026-03-01T08:00:00Z",
        override_reason={"reason": {"code": "patient-refused"}},
        service_base_url="http://127.0.0.1:8080",
    )  # fmt: skip
    event: Any = AuditEvent.model_validate(body)
    details = {d.type: d.valueString for d in event.entity[0].detail}
    assert details["overrideReason"] == "patient-refused"


def test_the_audit_export_refers_by_type_and_id_never_by_urn_uuid() -> None:
    """Issue 10 item 4: a reader of NDJSON cannot resolve urn:uuid; outputs refer by Type/id."""
    import json
    from datetime import UTC, datetime

    from service.fhir.audit_resources import with_local_references
    from service.fhir.outputs import build_outputs
    from service.fhir.profiles import Profiles, default_profiles_dir
    from tests.fhir import assessment_samples as s

    out = build_outputs(
        s.functional_secondary(), s.extraction(), recorded=datetime(2026, 3, 1, tzinfo=UTC),
        profiles=Profiles.load(default_profiles_dir()), public_base_url=s.BASE,
    )  # fmt: skip
    assert out.care_plan is not None
    produced = [out.clinical_impression, out.care_plan, out.provenance]
    exported = with_local_references(produced)
    ci, cp, prov = exported
    assert cp["supportingInfo"] == [{"reference": f"ClinicalImpression/{ci['id']}"}]
    assert prov["target"] == [
        {"reference": f"ClinicalImpression/{ci['id']}"},
        {"reference": f"CarePlan/{cp['id']}"},
    ]
    own = {f"urn:uuid:{r['id']}" for r in produced}
    assert not any(u in json.dumps(exported) for u in own)
    # references to the inputs are kept as the caller gave them (here one urn:uuid input)
    assert [e["what"]["reference"] for e in prov["entity"]] == [u.reference for u in s.USED]
    assert produced[1]["supportingInfo"][0]["reference"].startswith("urn:uuid:")  # unchanged


def test_the_pipeline_records_outputs_with_local_references() -> None:
    """The recorded (and so exported) resources are the Type/id form (issue 10 item 4)."""
    import json

    from service.core.thresholds import Thresholds
    from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir
    from service.fhir.profiles import Profiles, default_profiles_dir
    from service.pipeline import Caller, Pipeline
    from tests.fhir.extract_builders import bundle, nrs

    records: list[object] = []

    class Store:
        def record_evaluation(self, record: object) -> object:
            records.append(record)
            return record

    pipeline = Pipeline(
        index=ConceptMapIndex.load(default_mappings_dir()),
        profiles=Profiles.load(default_profiles_dir()),
        thresholds=Thresholds(), store=Store(),  # type: ignore[arg-type]
        public_base_url="https://cds.example.org",
    )  # fmt: skip
    result = pipeline.evaluate(bundle(nrs(6, "site-low-back")), caller=Caller("cli", "cli", "r1"))
    (record,) = records
    text = json.dumps(getattr(record, "resources"))  # noqa: B009
    ci_id = result.outputs.clinical_impression["id"]
    assert f'"reference": "ClinicalImpression/{ci_id}"' in text
    assert f"urn:uuid:{ci_id}" not in text


def _walked(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reference: every dict's ``reference`` equal to a local ``urn:uuid`` rewritten."""
    local = {f"urn:uuid:{r['id']}": f"{r['resourceType']}/{r['id']}" for r in resources}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items()}
            if isinstance(out.get("reference"), str) and out["reference"] in local:
                out["reference"] = local[out["reference"]]
            return out
        return [walk(v) for v in node] if isinstance(node, list) else node

    return [walk(r) for r in resources]


def test_local_references_are_those_of_a_walk_over_every_example() -> None:
    """with_local_references works on the JSON text: the same result as walking the dicts, for
    every example's outputs and for text that only looks like a reference."""
    import orjson

    from service.fhir.audit_resources import with_local_references
    from tests.audit.records import example_evaluations

    cases = []
    for result, _ in example_evaluations():
        out = result.outputs
        cases.append([r for r in (out.clinical_impression, out.care_plan, out.provenance) if r])
    ci = dict(cases[0][0])
    urn = f"urn:uuid:{ci['id']}"
    ci["note"] = [
        {"text": f'"reference":"{urn}"'},  # text, not a reference: kept as it is
        {"text": f'\\"reference\\":\\"{urn}\\"'},
    ]
    ci["extension"] = [
        {"url": "x", "valueReference": {"reference": urn, "display": urn}},
        {"url": "y", "valueString": urn, "reference": [urn]},  # not a string reference
        {"url": "z", "valueReference": {"reference": urn + "0"}},  # not exactly the urn
    ]
    cases.append([ci, *cases[0][1:]])
    for produced in cases:
        expected = _walked(produced)
        got = with_local_references(produced)
        assert got == expected
        assert orjson.dumps(got) == orjson.dumps(expected)
    assert cases[-1][0]["extension"][0]["valueReference"]["reference"] == urn  # input untouched
