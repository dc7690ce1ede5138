"""The audit store's port: what the pipeline and the CDS Hooks adapter ask of the store.

CONTRACT FILE (lead-owned). ``service.audit.store.SqlAuditStore`` implements it on SQLAlchemy
(SQLite by default, PostgreSQL through DATABASE_URL); tests may use an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation, as the pipeline hands it to the store before answering.

    Never holds a token or a JWT. ``resources`` are the FHIR resources to keep and export for
    this evaluation (ClinicalImpression, CarePlan?, Provenance, AuditEvent, GuidanceResponse?),
    as JSON dicts.
    """

    recorded: datetime  # timezone-aware UTC
    caller: str  # JWT iss (+ "|tenant"), API client id, or "cli"
    user: str | None  # e.g. "Practitioner/123" when known
    patient_ref: str  # "Patient/123"
    request_id: str  # hookInstance for CDS Hooks calls, else the request id
    hook_instance: str | None
    rule_set: str  # canonical|version
    input_sha256: str
    inputs_used: Sequence[str]  # references of the inputs used
    category: str  # HSC category code
    recommendations: Sequence[str]  # HSC rec-… codes
    warnings: Sequence[str]  # diagnostics of each warning
    outputs: Mapping[str, Any]  # the output Bundle returned to the caller
    resources: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    record_hash: str
    prev_hash: str


@dataclass(frozen=True)
class FeedbackItem:
    """One CDS Hooks feedback item (standards.md §1.6), already validated."""

    service_id: str
    card_uuid: str
    outcome: str  # accepted | overridden
    outcome_timestamp: str  # RFC 3339 as sent
    accepted_suggestions: Sequence[str]
    override_reason: Mapping[str, Any] | None
    caller: str


class AuditStore(Protocol):
    def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
        """Append and commit; raise ``service.errors.StoreUnavailable`` if it cannot."""

    def record_feedback(self, items: Sequence[FeedbackItem]) -> int:
        """Store each item durably, idempotent on (service, card, outcome, timestamp).

        Returns how many were new. Raises StoreUnavailable if it cannot write.
        """

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Record a JWT id until it expires; False when already seen (a replay).

        Must hold across processes and hosts sharing the database (a unique key, not memory).
        """

    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be reached (for /readyz)."""
