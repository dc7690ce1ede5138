"""The append as the store did it before service.audit.append (commit 210caa2): SQLAlchemy Core
statements, each JSON value serialised, parsed back and serialised again for the hash.

Kept as the reference the new append must match byte for byte (tests/audit/test_canonical.py)
and as the "before" row of bench/audit_store.py. Never used by the service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, insert, update

from service.audit import tables as t
from service.audit.chain import (
    canonical_json,
    content_hash,
    content_of,
    link_hash,
    resources_hash,
)
from service.audit.clock import lock_head, next_stored_at
from service.audit.engine import write_transaction
from service.audit.port import EvaluationRecord, StoredRecord


def plain(value: Any) -> Any:
    """The JSON value as the database will give it back (tuples become lists)."""
    return orjson.loads(orjson.dumps(value))


def legacy_row(record: EvaluationRecord) -> tuple[dict[str, Any], list[bytes]]:
    """The evaluation row (without seq, stored_at and hashes) and the resources' bodies."""
    if record.recorded.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    bodies = [canonical_json(r) for r in record.resources]
    row: dict[str, Any] = {
        "recorded": record.recorded.astimezone(UTC),
        "caller": record.caller,
        "user": record.user,
        "patient_ref": record.patient_ref,
        "request_id": record.request_id,
        "hook_instance": record.hook_instance,
        "rule_set": record.rule_set,
        "input_sha256": record.input_sha256,
        "inputs_used": plain(record.inputs_used),
        "category": record.category,
        "recommendations": plain(record.recommendations),
        "warnings": plain(record.warnings),
        "outputs": plain(record.outputs),
        "resources_sha256": resources_hash(bodies),
    }
    return row, bodies


def legacy_content_bytes(record: EvaluationRecord, seq: int, stored_at: datetime) -> bytes:
    """The bytes the old append hashed for ``record`` at ``seq``, stored at ``stored_at``."""
    row, _ = legacy_row(record)
    return canonical_json(content_of({**row, "seq": seq, "stored_at": stored_at}))


def legacy_record_evaluation(engine: Engine, record: EvaluationRecord) -> StoredRecord:
    """Append ``record`` exactly as the store did before (one transaction, the head locked)."""
    row, bodies = legacy_row(record)
    recorded = row["recorded"]
    with write_transaction(engine) as c:
        head = lock_head(c)
        seq, prev = head.seq + 1, head.record_hash
        row["seq"], row["stored_at"] = seq, next_stored_at(c, head.clock)
        record_hash = link_hash(prev, content_hash(content_of(row)))
        c.execute(insert(t.evaluations), [{**row, "record_hash": record_hash, "prev_hash": prev}])
        if bodies:
            c.execute(
                insert(t.audit_resources),
                [
                    {
                        "evaluation_seq": seq,
                        "position": i,
                        "resource_type": str(res.get("resourceType", "")),
                        "resource_id": res.get("id"),
                        "recorded": recorded,
                        "resource": body.decode(),
                    }
                    for i, (res, body) in enumerate(zip(record.resources, bodies, strict=True))
                ],
            )
        c.execute(
            update(t.chain_head)
            .where(t.chain_head.c.id == 1)
            .values(seq=seq, record_hash=record_hash, clock=row["stored_at"])
        )
    return StoredRecord(seq=seq, record_hash=record_hash, prev_hash=prev)
