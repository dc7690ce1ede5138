"""The audit export: Bulk Data kick-off parameters, job manifests, NDJSON and CSV writers.

Export files are not kept anywhere: a job is a snapshot (evaluations up to ``max_seq``, plus
``_since`` and ``_type``) stored in the database, and each file is streamed from the store when
it is downloaded. Replicas stay stateless and a file never sits in memory.
"""

from __future__ import annotations

import csv
import hmac
import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from service.audit.chain import utc_instant
from service.audit.jobs import ExportJob
from service.audit.store import SqlAuditStore
from service.errors import Forbidden, InvalidInput, Unauthorized

log = logging.getLogger("hipspine.audit.export")

#: The resource types the store records and the export can deliver.
EXPORTABLE_TYPES = frozenset(
    {
        "AuditEvent",
        "CarePlan",
        "ClinicalImpression",
        "DetectedIssue",
        "GuidanceResponse",
        "Provenance",
        "RequestGroup",
        "ServiceRequest",
    }
)
NDJSON_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
UNSUPPORTED_PARAMS = ("_typeFilter", "_elements", "patient", "includeAssociatedData")
#: The export's own bearer realm, named in every 401 (RFC 6750 §3).
CHALLENGE = 'Bearer realm="hipspine-audit-export"'
CSV_COLUMNS = (
    "seq",
    "recorded",
    "stored_at",
    "caller",
    "user",
    "patient_ref",
    "request_id",
    "hook_instance",
    "rule_set",
    "input_sha256",
    "category",
    "recommendations",
    "warnings",
    "inputs_used",
    "record_hash",
    "prev_hash",
)
#: ``feedback.csv``: what clinicians did with the cards (override reasons, clinical-spec §6.3).
FEEDBACK_COLUMNS = (
    "received",
    "service_id",
    "card_uuid",
    "outcome",
    "outcome_timestamp",
    "override_reason",
    "accepted_suggestions",
    "caller",
)


@dataclass(frozen=True)
class ExportRequest:
    since: datetime | None
    types: tuple[str, ...] | None  # None: every type present


def parse_instant(value: str, name: str) -> datetime:
    """A FHIR instant (timezone required), e.g. ``2026-01-01T00:00:00Z``."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} is not a FHIR instant: {value!r}", [name]) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs a timezone (e.g. Z): {value!r}", [name])
    try:
        moment.astimezone(UTC)  # e.g. 0001-01-01T00:00:00+14:00 is before datetime.min in UTC
    except OverflowError:
        raise InvalidInput(f"{name} is out of range: {value!r}", [name]) from None
    return moment


def parse_types(values: Iterable[str]) -> tuple[str, ...] | None:
    """``_type`` values (repeated or comma-separated); an unknown type is a 400."""
    types = sorted({t.strip() for v in values for t in v.split(",") if t.strip()})
    if not types:
        return None
    unknown = [t for t in types if t not in EXPORTABLE_TYPES]
    if unknown:
        known = ", ".join(sorted(EXPORTABLE_TYPES))
        raise InvalidInput(f"_type: cannot export {', '.join(unknown)}; known: {known}", ["_type"])
    return tuple(types)


def parse_kickoff(args: Mapping[str, list[str]], prefer: str) -> ExportRequest:
    """Validate a kick-off request (standards.md §4.4); raise InvalidInput (400) if unusable."""
    if "respond-async" not in prefer.replace(" ", "").lower().split(","):
        raise InvalidInput("the export needs the header Prefer: respond-async")
    for name in UNSUPPORTED_PARAMS:
        if args.get(name):
            raise InvalidInput(f"{name} is not supported by this export", [name])
    formats = args.get("_outputFormat") or []
    if any(f not in NDJSON_FORMATS for f in formats):
        raise InvalidInput("_outputFormat: only application/fhir+ndjson", ["_outputFormat"])
    since_values = args.get("_since") or []
    if len(since_values) > 1:
        raise InvalidInput("_since may be given once", ["_since"])
    since = parse_instant(since_values[0], "_since") if since_values else None
    return ExportRequest(since=since, types=parse_types(args.get("_type") or []))


def check_export_token(authorization: str | None, token: str) -> None:
    """The export's own credential: ``Authorization: Bearer <EXPORT_TOKEN>``."""
    if not token:
        raise Forbidden("the audit export is disabled (no EXPORT_TOKEN configured)")
    scheme, _, sent = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not sent:
        raise Unauthorized(
            "the audit export needs Authorization: Bearer <export token>", challenge=CHALLENGE
        )
    if not hmac.compare_digest(sent.strip().encode(), token.encode()):
        raise Unauthorized("the export token is not valid", challenge=CHALLENGE)


def run_job(store: SqlAuditStore, job: ExportJob) -> None:
    """Count what the job exports and mark it complete (or failed); never raises."""
    try:
        counts = store.count_by_type(job.since, types=job.types, max_seq=job.max_seq)
        store.export_jobs.complete(job.id, sorted(counts.items()))
    except Exception as exc:  # the job must end in a state a poll can report
        log.error("export job %s failed: %s", job.id, type(exc).__name__, exc_info=exc)
        try:
            store.export_jobs.fail(job.id, "the export could not be prepared")
        except Exception:
            log.error("export job %s: cannot record the failure", job.id)


def file_url(base_url: str, job_id: str, resource_type: str) -> str:
    return f"{base_url}/fhir/$export-file/{job_id}/{resource_type}.ndjson"


def manifest(job: ExportJob, base_url: str) -> dict[str, Any]:
    """The completion manifest (Bulk Data §Status: complete): one output file per type."""
    return {
        "transactionTime": utc_instant(job.transaction_time),
        "request": job.request,
        "requiresAccessToken": True,
        "output": [
            {"type": kind, "url": file_url(base_url, job.id, kind), "count": count}
            for kind, count in job.output
            if count > 0
        ],
        "error": [],
    }


def ndjson_lines(store: SqlAuditStore, job: ExportJob, resource_type: str) -> Iterator[bytes]:
    for item in store.since(job.since, types=(resource_type,), max_seq=job.max_seq):
        yield item.json.encode() + b"\n"


def write_ndjson(
    store: SqlAuditStore,
    out_dir: Path,
    *,
    since: datetime | None,
    until: datetime | None,
    types: Collection[str] | None,
    progress: Any = None,
) -> dict[str, int]:
    """One ``<Type>.ndjson`` file per resource type in ``out_dir``; returns the counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, IO[bytes]] = {}
    counts: dict[str, int] = {}
    try:
        for item in store.since(since, until=until, types=types):
            handle = files.get(item.resource_type)
            if handle is None:
                handle = files[item.resource_type] = (
                    out_dir / f"{item.resource_type}.ndjson"
                ).open("wb")
            handle.write(item.json.encode() + b"\n")
            counts[item.resource_type] = counts.get(item.resource_type, 0) + 1
            if progress is not None:
                progress.update(1)
    finally:
        for handle in files.values():
            handle.close()
    return counts


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc_instant(value)
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def write_csv(
    store: SqlAuditStore,
    out_dir: Path,
    *,
    since: datetime | None,
    until: datetime | None,
    progress: Any = None,
) -> int:
    """``evaluations.csv``: one row per evaluation (lists as JSON arrays); returns the count.

    Also ``feedback.csv``: one row per CDS Hooks feedback item received in the same window, with
    the override reason the clinician chose (clinical-spec §6.3, Q4-32f).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "feedback.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FEEDBACK_COLUMNS)
        for row in store.feedback_rows(since, until=until):
            writer.writerow([_cell(row[name]) for name in FEEDBACK_COLUMNS])
    count = 0
    with (out_dir / "evaluations.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in store.evaluation_rows(since, until=until):
            writer.writerow([_cell(row[name]) for name in CSV_COLUMNS])
            count += 1
            if progress is not None:
                progress.update(1)
    return count
