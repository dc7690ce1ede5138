"""Everything one evaluation emits, and the start-up self-check over the built-in charts.

The builders no longer validate with R4B per call (issue 14 item 1): the test suite validates
every resource emitted for every example and every property-test chart
(:func:`emitted_resources` + :func:`service.fhir.emitted.emitted_problems`), and ``create_app``
runs :func:`self_check` once per process: one built-in chart per template of
``service.samples.cases`` (one per §4 category path; ``examples/`` is not in the container),
each evaluated and each emitted resource validated. A problem raises :class:`SelfCheckFailed`,
``create_app`` logs it in one line and the process does not start (no app, so no ``/readyz``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from service.audit.port import EvaluationRecord, FeedbackItem, StoredRecord
from service.cds_hooks.cards import card_uuid, suggested_care_plan
from service.cds_hooks.order_hooks import suggestions
from service.fhir.emitted import emitted_problems
from service.pipeline import Caller, Pipeline
from service.samples.cases import TEMPLATES
from service.samples.data import build_patient

log = logging.getLogger("hipspine.selfcheck")

HOOK_INSTANCE = "00000000-0000-4000-8000-000000000000"
_CALLER = Caller(
    kind="cds-hooks",
    client="self-check",
    request_id="self-check",
    hook_instance=HOOK_INSTANCE,
    service_id="hip-spine-patient-view",
)


class SelfCheckFailed(RuntimeError):
    """A built-in chart's evaluation emitted a resource that is not valid (a bug)."""


class _KeepingStore:
    """An AuditStore that keeps the last record in memory (nothing is written anywhere)."""

    def __init__(self) -> None:
        self.records: list[EvaluationRecord] = []

    def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
        self.records.append(record)
        return StoredRecord(seq=0, record_hash="", prev_hash="")

    def record_feedback(self, items: Sequence[FeedbackItem]) -> int:
        return 0

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        return True

    def ping(self) -> None:
        return None


def emitted_resources(pipeline: Pipeline, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every resource the service can emit for ``payload``: the answer Bundle (its entries
    inside), the audit record's resources (outputs, AuditEvent, GuidanceResponse), the
    patient-view card's suggested CarePlan and every order-hook suggestion.

    Evaluates through a copy of ``pipeline`` whose store keeps the record in memory.
    """
    store = _KeepingStore()
    keeping = Pipeline(
        index=pipeline.index,
        profiles=pipeline.profiles,
        thresholds=pipeline.thresholds,
        store=store,
        public_base_url=pipeline.public_base_url,
        clock=pipeline.clock,
    )
    result = keeping.evaluate(payload, caller=_CALLER, hook_notes=lambda a, e: ["self-check"])
    (record,) = store.records
    emitted: list[dict[str, Any]] = [result.bundle, *(dict(r) for r in record.resources)]
    if result.outputs.suggested_care_plan is not None:
        emitted.append(
            suggested_care_plan(
                result.outputs.suggested_care_plan, card_uuid(HOOK_INSTANCE, "card-0/suggestion-0")
            )
        )
    patient_id = result.extraction.patient_ref.rpartition("/")[2]
    for suggestion in suggestions(result.assessment, HOOK_INSTANCE, patient_id):
        emitted += [a["resource"] for a in suggestion["actions"]]
    return emitted


def problems_of(pipeline: Pipeline, payload: Mapping[str, Any]) -> list[str]:
    """:func:`emitted_problems` of every resource :func:`emitted_resources` gives."""
    return [p for r in emitted_resources(pipeline, payload) for p in emitted_problems(r)]


def self_check(pipeline: Pipeline) -> float:
    """Evaluate one built-in chart per template and validate what it emits; the seconds taken.

    :raise SelfCheckFailed: naming the template and the first problems.
    """
    started = time.perf_counter()
    for i, template in enumerate(TEMPLATES):
        _, chart = build_patient(0, i)
        problems = problems_of(pipeline, chart.transaction())
        if problems:
            raise SelfCheckFailed(f"chart {template.name!r}: {'; '.join(problems[:3])}")
    return time.perf_counter() - started


_passed = False


def self_check_once(pipeline: Pipeline) -> None:
    """:func:`self_check` the first time a process builds an app; logs one line either way.

    :raise SelfCheckFailed: after logging ``start-up self-check failed: ...`` (one line).
    """
    global _passed
    if _passed:
        return
    try:
        seconds = self_check(pipeline)
    except SelfCheckFailed as exc:
        log.critical("start-up self-check failed: %s", exc)
        raise
    _passed = True
    log.info(
        "start-up self-check passed",
        extra={"count": len(TEMPLATES), "duration_ms": round(seconds * 1000)},
    )
