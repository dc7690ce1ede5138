"""The conformance tests' app: the real ``create_app`` and ``Pipeline`` over SQLite in tmp_path.

Nothing is faked: the app is built by the factory, evaluations run through the real pipeline
and are recorded in the real audit store. Two thin spies only *watch*: ``SpyPipeline`` keeps
what the pipeline was asked (payload, caller, patient id) and ``SpyStore`` keeps what the store
was given, both passing every call on unchanged. Clinical inputs are the checkout's examples
(``examples/*.json``) handed to the hook as prefetch, so a test picks a category by its example.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

from service.app import create_app
from service.audit.port import AuditStore, EvaluationRecord, FeedbackItem, StoredRecord
from service.config import Settings
from service.metrics import InstrumentedStore
from service.pipeline import Caller, EvaluationResult, HookNotes, Pipeline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PATIENT_ID = "p1"


class SpyStore:
    """Passes every call to the real audit store and keeps what it was given."""

    def __init__(self, inner: AuditStore) -> None:
        self.inner = inner
        self.evaluations: list[EvaluationRecord] = []
        self.feedback: dict[tuple[str, str, str, str], FeedbackItem] = {}
        self.jtis: dict[tuple[str, str], datetime] = {}

    def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
        stored = self.inner.record_evaluation(record)
        self.evaluations.append(record)
        return stored

    def record_feedback(self, items: Sequence[FeedbackItem]) -> int:
        new = self.inner.record_feedback(items)
        for item in items:
            key = (item.service_id, item.card_uuid, item.outcome, item.outcome_timestamp)
            self.feedback.setdefault(key, item)
        return new

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        fresh = self.inner.remember_jti(issuer, jti, expires_at)
        if fresh:
            self.jtis[(issuer, jti)] = expires_at
        return fresh

    def ping(self) -> None:
        self.inner.ping()


class SpyPipeline:
    """Passes every evaluation to the real pipeline and keeps what it was asked."""

    def __init__(self, inner: Pipeline) -> None:
        self.inner = inner
        self.calls: list[tuple[Mapping[str, Any], Caller, str | None]] = []

    def evaluate(
        self,
        payload: Mapping[str, Any],
        *,
        caller: Caller,
        patient_id: str | None = None,
        hook_notes: HookNotes | None = None,
    ) -> EvaluationResult:
        self.calls.append((payload, caller, patient_id))
        return self.inner.evaluate(
            payload, caller=caller, patient_id=patient_id, hook_notes=hook_notes
        )


def real_app(settings: Settings) -> tuple[Flask, SpyPipeline, SpyStore]:
    """The factory's app for ``settings`` (SQLite in ``settings.data_dir``), with the spies
    watching its pipeline and its audit store."""
    app = create_app(settings)
    services = app.extensions["hipspine"]
    store = SpyStore(services.store)
    services.store = store
    services.pipeline.store = InstrumentedStore(store)  # as the factory wraps it
    pipeline = SpyPipeline(services.pipeline)
    services.pipeline = pipeline
    return app, pipeline, store


def close(app: Flask) -> None:
    services = app.extensions["hipspine"]
    services.store.inner.close()


def example_prefetch(name: str) -> dict[str, Any]:
    """The example ``examples/<name>.json`` as a hook's prefetch, for patient ``p1``."""
    bundle = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    resources = [entry["resource"] for entry in bundle.get("entry", ())]
    (patient,) = [r for r in resources if r["resourceType"] == "Patient"]
    text = json.dumps(resources).replace(f"Patient/{patient['id']}", f"Patient/{PATIENT_ID}")
    resources = json.loads(text)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    (patient,) = by_type.pop("Patient")
    patient["id"] = PATIENT_ID

    def searchset(kind: str) -> dict[str, Any]:
        found = by_type.get(kind, [])
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
        if found:
            bundle["entry"] = [{"resource": r, "search": {"mode": "match"}} for r in found]
        return bundle

    return {
        "patient": patient,
        "observations": searchset("Observation"),
        "conditions": searchset("Condition"),
        "procedures": searchset("Procedure"),
    }
