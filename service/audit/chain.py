"""Canonical JSON and the SHA-256 hash chain of audit records: pure, no database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

GENESIS_HASH = "0" * 64

# The evaluation fields a record hash covers, in the order the content dict lists them. Records
# written since revision 0002 also hash ``stored_at`` (CONTENT_FIELDS); older ones hash only these
# and have ``stored_at`` = ``recorded`` (the backfill), which verify_chain insists on.
LEGACY_FIELDS = (
    "seq",
    "recorded",
    "caller",
    "user",
    "patient_ref",
    "request_id",
    "hook_instance",
    "rule_set",
    "input_sha256",
    "inputs_used",
    "category",
    "recommendations",
    "warnings",
    "outputs",
    "resources_sha256",
)
CONTENT_FIELDS = (*LEGACY_FIELDS, "stored_at")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same content, every time."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives the UTC wall time back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_instant(moment: datetime) -> str:
    """A FHIR instant in UTC with microseconds; a naive value is taken as UTC (SQLite)."""
    return aware(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resources_hash(bodies: Sequence[bytes]) -> str:
    """SHA-256 over each resource's stored JSON (its canonical_json bytes), in order."""
    digest = hashlib.sha256()
    for body in bodies:
        digest.update(sha256_hex(body).encode("ascii"))
    return digest.hexdigest()


def content_of(row: Mapping[str, Any], fields: Sequence[str] = CONTENT_FIELDS) -> dict[str, Any]:
    """The hashed content of an evaluation row (its times normalised to UTC instants)."""
    content = {name: row[name] for name in fields}
    for name in ("recorded", "stored_at"):
        moment = content.get(name)
        if isinstance(moment, datetime):
            content[name] = utc_instant(moment)
    return content


def content_hash(content: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json(content))


def link_hash(prev_hash: str, content_digest: str) -> str:
    """A record's hash: SHA-256 of the previous record's hash followed by its content hash."""
    return sha256_hex(f"{prev_hash}{content_digest}".encode("ascii"))


@dataclass(frozen=True)
class ChainRow:
    seq: int
    content: Mapping[str, Any]
    record_hash: str
    prev_hash: str
    defect: str | None = None  # found by the store outside the content (e.g. its resources)
    stored_at: datetime | None = None  # when the store appended it (what ``_since`` selects on)
    legacy_content: Mapping[str, Any] | None = None  # pre-0002 content, if stored_at = recorded


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_broken_seq: int | None
    reason: str
    count: int


def verify_chain(rows: Iterable[ChainRow], *, head: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the rows in ``seq`` order; name the first record whose link or content is wrong.

    ``head`` is the (seq, hash) the store holds as the chain's last link; when given, a chain
    that stops short of it (records deleted from the end) is broken too.

    ``stored_at`` is covered too, so that an edit cannot hide a record from an incremental
    export: a record's hash covers it (records since revision 0002, whose ``stored_at`` must
    also come strictly after every earlier record's), or the record predates 0002, hashes
    ``recorded`` only and must have ``stored_at`` equal to it (and no hashed record before it).
    """
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    latest: datetime | None = None  # the greatest stored_at so far
    hashed_seen = False  # a record hashing its stored_at was seen: no legacy record may follow
    for row in rows:
        if row.seq != expected_seq:
            reason = f"record {expected_seq} is missing (next record found is {row.seq})"
            return VerifyResult(False, expected_seq, reason, count)
        if row.prev_hash != prev:
            reason = f"record {row.seq}: prev_hash does not match the hash of record {row.seq - 1}"
            return VerifyResult(False, row.seq, reason, count)
        if row.content.get("seq") != row.seq:
            return VerifyResult(False, row.seq, f"record {row.seq}: content seq differs", count)
        if row.defect is not None:
            return VerifyResult(False, row.seq, f"record {row.seq}: {row.defect}", count)
        if link_hash(prev, content_hash(row.content)) == row.record_hash:
            if row.stored_at is not None and latest is not None and row.stored_at <= latest:
                reason = f"record {row.seq}: stored_at is not after the records before it"
                return VerifyResult(False, row.seq, reason, count)
            hashed_seen = True
        elif (
            row.legacy_content is None
            or hashed_seen
            or link_hash(prev, content_hash(row.legacy_content)) != row.record_hash
        ):
            reason = f"record {row.seq}: content does not match its record_hash (altered)"
            return VerifyResult(False, row.seq, reason, count)
        if row.stored_at is not None and (latest is None or row.stored_at > latest):
            latest = row.stored_at
        prev, expected_seq, count = row.record_hash, expected_seq + 1, count + 1
    if head is not None and head != (count, prev):
        head_seq, _ = head
        if head_seq > count:
            reason = f"records {count + 1}..{head_seq} are missing (the chain head is {head_seq})"
            return VerifyResult(False, count + 1, reason, count)
        reason = f"the chain head (seq {head_seq}) does not match the last record ({count})"
        return VerifyResult(False, head_seq if head_seq else None, reason, count)
    return VerifyResult(True, None, f"{count} records, chain intact", count)


def chain_rows(
    evaluations: Iterable[Mapping[Any, Any]], resources: Iterator[Sequence[Any]]
) -> Iterator[ChainRow]:
    """Chain rows from evaluation rows and their stored resources ``(seq, json, type, recorded)``.

    Both streams are in ``seq`` order, so this is a merge join: memory stays constant. A
    record whose resources no longer hash to its ``resources_sha256``, or whose ``type`` and
    ``recorded`` columns (``_type`` selects on the first) disagree with the resource and the
    record, carries a defect. ``_since`` selects on the evaluation's ``stored_at`` (verified
    in verify_chain), never on a resource row.
    """
    pending: Sequence[Any] | None = next(resources, None)
    for ev in evaluations:
        mine: list[Sequence[Any]] = []
        while pending is not None and pending[0] <= ev["seq"]:
            if pending[0] == ev["seq"]:
                mine.append(pending)
            pending = next(resources, None)
        defect = None
        if resources_hash([r[1].encode() for r in mine]) != ev["resources_sha256"]:
            defect = "its stored FHIR resources do not match resources_sha256 (altered)"
        elif any(_index_differs(r, ev["recorded"]) for r in mine):
            defect = "its stored FHIR resources' type or recorded columns were altered"
        stored_at = aware(ev["stored_at"])
        legacy = None
        if stored_at == aware(ev["recorded"]):  # written before revision 0002, perhaps
            legacy = content_of(ev, LEGACY_FIELDS)
        yield ChainRow(
            ev["seq"], content_of(ev), ev["record_hash"], ev["prev_hash"], defect, stored_at, legacy
        )


def _index_differs(resource: Sequence[Any], recorded: datetime) -> bool:
    _, body, kind, when = resource
    return bool(orjson.loads(body).get("resourceType") != kind) or (
        utc_instant(when) != utc_instant(recorded)
    )
