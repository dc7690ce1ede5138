"""Evaluation records for the audit tests: realistic FHIR resources, deterministic content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from service.audit import tables as t
from service.audit.chain import aware
from service.audit.port import EvaluationRecord, FeedbackItem, StoredRecord
from service.audit.store import SqlAuditStore
from service.fhir.audit_resources import audit_event, guidance_response

if TYPE_CHECKING:
    from service.pipeline import EvaluationResult

BASE_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
RULE_SET = "http://hipspine.example.org/fhir/Library/hip-spine-rules|1.0.0"


def make_record(i: int, *, recorded: datetime | None = None, hook: bool = True) -> EvaluationRecord:
    """Evaluation number ``i``: ClinicalImpression, CarePlan, Provenance, AuditEvent and, for
    a CDS Hooks call, a GuidanceResponse (five resources, or four without ``hook``)."""
    when = recorded or BASE_TIME + timedelta(minutes=i)
    patient = f"Patient/p{i % 7}"
    hook_instance = f"00000000-0000-4000-8000-{i:012d}" if hook else None
    ci_id, cp_id, prov_id = f"ci-{i}", f"cp-{i}", f"prov-{i}"
    instant = when.isoformat()
    produced: list[dict[str, Any]] = [
        {"resourceType": "ClinicalImpression", "id": ci_id, "status": "completed",
         "subject": {"reference": patient}, "date": instant},
        {"resourceType": "CarePlan", "id": cp_id, "status": "active", "intent": "proposal",
         "subject": {"reference": patient}},
        {"resourceType": "Provenance", "id": prov_id, "recorded": instant,
         "target": [{"reference": f"ClinicalImpression/{ci_id}"},
                    {"reference": f"CarePlan/{cp_id}"}],
         "agent": [{"who": {"reference": "Device/hipspine-cds"}}]},
    ]  # fmt: skip
    refs = [f"ClinicalImpression/{ci_id}", f"CarePlan/{cp_id}"]
    resources = [
        *produced,
        audit_event(
            recorded=when,
            caller_kind="cds-hooks" if hook else "fhir-api",
            client="https://ehr.example.org|tenant-a",
            user="Practitioner/dr-1" if i % 2 else None,
            patient_ref=patient,
            request_id=f"req-{i}",
            hook_instance=hook_instance,
            output_refs=refs,
            service_base_url="http://127.0.0.1:8080",
        ),
    ]
    if hook_instance is not None:
        resources.append(
            guidance_response(
                recorded=when,
                hook_instance=hook_instance,
                service_id="hip-spine",
                service_url="http://127.0.0.1:8080/cds-services/hip-spine",
                patient_ref=patient,
                result_ref=f"CarePlan/{cp_id}",
                rule_set=RULE_SET,
            )
        )
    return EvaluationRecord(
        recorded=when,
        caller="https://ehr.example.org|tenant-a",
        user="Practitioner/dr-1" if i % 2 else None,
        patient_ref=patient,
        request_id=f"req-{i}",
        hook_instance=hook_instance,
        rule_set=RULE_SET,
        input_sha256=f"{i:064x}",
        inputs_used=(f"Observation/o{i}-1", f"Observation/o{i}-2"),
        category="HSC-2",
        recommendations=("rec-mri-lumbar", "rec-diagnostic-ia-hip-injection"),
        warnings=("Observation/x: no value",) if i % 3 == 0 else (),
        outputs={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in produced],
            "score": 1.5 + i,
        },  # fmt: skip
        resources=resources,
    )


def feedback_item(
    card: str, outcome: str = "accepted", ts: str = "2026-03-01T08:00:00Z"
) -> FeedbackItem:
    return FeedbackItem(
        service_id="hip-spine",
        card_uuid=card,
        outcome=outcome,
        outcome_timestamp=ts,
        accepted_suggestions=("s-1",) if outcome == "accepted" else (),
        override_reason=None if outcome == "accepted" else {"reason": {"code": "x"}},
        caller="https://ehr.example.org",
    )


def stored_times(store: SqlAuditStore) -> list[datetime]:
    """Each evaluation's ``stored_at`` (aware UTC), in ``seq`` order."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.evaluations.c.stored_at).order_by(t.evaluations.c.seq))
        return [aware(moment) for moment in rows.scalars()]


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_evaluations() -> list[tuple[EvaluationResult, EvaluationRecord]]:
    """What the real pipeline answers and records for each ``examples/*.json``, as a CDS hook
    call (so the record holds its GuidanceResponse and the hook's notes)."""
    from service.core.thresholds import Thresholds
    from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir
    from service.fhir.profiles import Profiles, default_profiles_dir
    from service.pipeline import Caller, Pipeline

    records: list[EvaluationRecord] = []

    class Keeping:
        def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
            records.append(record)
            return StoredRecord(seq=len(records), record_hash="", prev_hash="")

    pipeline = Pipeline(
        index=ConceptMapIndex.load(default_mappings_dir()),
        profiles=Profiles.load(default_profiles_dir()),
        thresholds=Thresholds(),
        store=Keeping(),  # type: ignore[arg-type]
        public_base_url="https://cds.example.org",
    )
    results = []
    for i, path in enumerate(sorted(EXAMPLES.glob("*.json"))):
        caller = Caller(
            "cds-hooks", "https://ehr.example.org|tenant-a", f"req-{i}",
            user="Practitioner/dr-1", hook_instance=f"00000000-0000-4000-8000-{i:012d}",
            service_id="hip-spine-patient-view", address="127.0.0.1",
        )  # fmt: skip
        results.append(
            pipeline.evaluate(
                orjson.loads(path.read_bytes()), caller=caller, hook_notes=lambda a, e: ["note"]
            )
        )
    return list(zip(results, records, strict=True))


def example_records() -> list[EvaluationRecord]:
    """The record the real pipeline makes for each ``examples/*.json`` (a CDS hook call)."""
    return [record for _, record in example_evaluations()]
