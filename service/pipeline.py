"""The evaluation pipeline: one function used by every entry point (HTTP, CDS Hooks, CLI).

parse + validate -> extract findings -> rules -> build FHIR outputs -> record audit -> answer.
The audit record is committed before the result is returned: if the store cannot write, the
caller gets ``StoreUnavailable`` (503), never an unrecorded recommendation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.audit.port import AuditStore, EvaluationRecord
from service.core import evaluate as evaluate_findings
from service.core.assessment import Assessment
from service.core.thresholds import Thresholds
from service.fhir.audit_resources import audit_event, guidance_response, with_local_references
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.extract import read_input
from service.fhir.extraction import Extraction
from service.fhir.outcome import warnings_outcome
from service.fhir.outputs import OutputSet, build_outputs, output_bundle
from service.fhir.profiles import Profiles


@dataclass(frozen=True)
class Caller:
    """Who asked, for the audit record. Never holds a token."""

    kind: str  # "fhir-api" | "cds-hooks" | "cli"
    client: str  # JWT iss (|tenant), API client, or "cli"
    request_id: str
    user: str | None = None  # e.g. "Practitioner/123"
    hook_instance: str | None = None
    service_id: str | None = None  # CDS service id, for the GuidanceResponse
    address: str | None = None  # the client's network address (AuditEvent agent.network)


@dataclass(frozen=True)
class EvaluationResult:
    bundle: dict[str, Any]  # the `collection` Bundle returned to FHIR callers
    assessment: Assessment
    extraction: Extraction
    outputs: OutputSet


#: ``(assessment, extraction) -> notes`` for the audit record of a hook call (Q4-32g).
HookNotes = Callable[[Assessment, Extraction], Sequence[str]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Pipeline:
    """Built once by the app factory; ``evaluate`` is safe to call from many threads."""

    def __init__(
        self,
        *,
        index: ConceptMapIndex,
        profiles: Profiles,
        thresholds: Thresholds,
        store: AuditStore,
        public_base_url: str,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.index = index
        self.profiles = profiles
        self.thresholds = thresholds
        self.store = store
        self.public_base_url = public_base_url
        self.clock = clock

    def assess(
        self, payload: Mapping[str, Any], *, patient_id: str | None = None
    ) -> tuple[Extraction, Assessment]:
        """The pure part: read the input and apply the rules (no clock, no store)."""
        extraction = read_input(
            payload, self.index, patient_id=patient_id, thresholds=self.thresholds
        )
        assessment = evaluate_findings(extraction.findings, self.profiles.rule_set, self.thresholds)
        return extraction, assessment

    def evaluate(
        self,
        payload: Mapping[str, Any],
        *,
        caller: Caller,
        patient_id: str | None = None,
        hook_notes: HookNotes | None = None,
    ) -> EvaluationResult:
        """Evaluate a Bundle (or Parameters with ``observations``), record it, return it.

        ``hook_notes`` (CDS Hooks only) says what the hook answers and why it stays silent
        (clinical-spec Q4-32g); its notes go into the GuidanceResponse of the audit record.

        :raise service.errors.HipSpineError: input errors (400/422), store failure (503).
        """
        extraction, assessment = self.assess(payload, patient_id=patient_id)
        recorded = self.clock()
        outputs = build_outputs(
            assessment,
            extraction,
            recorded=recorded,
            profiles=self.profiles,
            public_base_url=self.public_base_url,
        )
        bundle = output_bundle(outputs, warnings_outcome(extraction))
        notes = hook_notes(assessment, extraction) if hook_notes is not None else ()
        self.store.record_evaluation(
            self._record(caller, extraction, assessment, outputs, bundle, recorded, notes)
        )
        return EvaluationResult(bundle, assessment, extraction, outputs)

    def _record(
        self,
        caller: Caller,
        extraction: Extraction,
        assessment: Assessment,
        outputs: OutputSet,
        bundle: dict[str, Any],
        recorded: datetime,
        notes: Sequence[str] = (),
    ) -> EvaluationRecord:
        produced = [outputs.clinical_impression, outputs.provenance]
        if outputs.care_plan is not None:
            produced.insert(1, outputs.care_plan)
        refs = [f"{r['resourceType']}/{r['id']}" for r in produced]
        resources: list[Mapping[str, Any]] = [
            *with_local_references(produced),  # Type/id in the audit export, never urn:uuid
            audit_event(
                recorded=recorded,
                caller_kind=caller.kind,
                client=caller.client,
                client_address=caller.address,
                user=caller.user,
                patient_ref=extraction.patient_ref,
                request_id=caller.request_id,
                hook_instance=caller.hook_instance,
                output_refs=refs,
                service_base_url=self.public_base_url,
            ),
        ]
        if caller.hook_instance is not None and caller.service_id is not None:
            guidance = guidance_response(
                recorded=recorded,
                hook_instance=caller.hook_instance,
                service_id=caller.service_id,
                service_url=f"{self.public_base_url}/cds-services/{caller.service_id}",
                patient_ref=extraction.patient_ref,
                result_ref=refs[1] if outputs.care_plan is not None else None,
                rule_set=self.profiles.rule_set.canonical,
            )
            if notes:  # why the hook stayed silent (Q4-32g): R4 GuidanceResponse.note
                guidance["note"] = [{"text": n} for n in notes]
            resources.append(guidance)
        return EvaluationRecord(
            recorded=recorded,
            caller=caller.client,
            user=caller.user,
            patient_ref=extraction.patient_ref,
            request_id=caller.request_id,
            hook_instance=caller.hook_instance,
            rule_set=self.profiles.rule_set.canonical,
            input_sha256=extraction.input_digest,
            inputs_used=[u.reference for u in extraction.used],
            category=assessment.category.value,
            recommendations=[r.code for r in assessment.recommendations],
            warnings=[w.diagnostics for w in (*extraction.warnings, *extraction.ignored)],
            outputs=bundle,
            resources=resources,
        )
