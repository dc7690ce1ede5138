"""The hot path of the audit store: one evaluation appended to the chain, in one transaction.

Every evaluation pays for this before its answer is sent, so it runs at the driver level
(sqlite3, psycopg 3) with SQL built once, not through SQLAlchemy's statement machinery, and
serialises each JSON value once: the canonical bytes (``canonical_plain``) are both what
the record hash covers and the text stored in the JSON column. The hashed content is
byte-identical to ``canonical_json(content_of(row))`` of the row as the database gives it
back (tests/audit/test_canonical.py proves it on every example's record and on edge cases).

Locking is unchanged: the chain head is locked for the whole transaction (SQLite: BEGIN
IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE), so concurrent writers append in turn.

PostgreSQL: two round trips per append (plus the pool's pre-ping), where SQLAlchemy Core took
seven: psycopg 3 in pipeline mode, BEGIN and COMMIT ours (the connection in autocommit for the
append), every statement prepared on its first use (``prepare=True``; psycopg would prepare
only after 5 executions, and forgets every prepared statement at any ROLLBACK on that
connection, e.g. after a read):

1. BEGIN + ``SELECT ... FOR UPDATE`` of the head, with the server clock (``clock_timestamp()``);
2. INSERT the evaluation, INSERT its resources, UPDATE the head, COMMIT; the head stays locked
   from the first to the end of the second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine

from service.audit import tables as t
from service.audit.chain import (
    canonical_json,
    link_hash,
    resources_hash,
    sha256_hex,
    utc_instant,
)
from service.audit.clock import next_stored_at
from service.audit.engine import write_transaction
from service.audit.port import EvaluationRecord, StoredRecord
from service.errors import StoreUnavailable

# The columns of the INSERTs below, from the tables module (the schema of record).
_EVALUATION_COLUMNS = tuple(t.evaluations.c.keys())
_JSON_FIELDS = ("inputs_used", "recommendations", "warnings", "outputs")
_RESOURCE_COLUMNS = tuple(c.name for c in t.audit_resources.c if c.name != "id")


@dataclass(frozen=True)
class Prepared:
    """An evaluation record ready to append: everything but its place in the chain."""

    recorded: datetime  # aware UTC
    scalars: dict[str, Any]  # the text columns of the record (caller, user, ...)
    json: dict[str, bytes]  # each JSON column's canonical bytes
    resources_sha256: str
    resources: list[tuple[str, str | None, str]]  # (resourceType, id, canonical JSON text)


def prepare(record: EvaluationRecord) -> Prepared:
    """Serialise a record once (before the chain is locked)."""
    if record.recorded.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    bodies = [canonical_json(r) for r in record.resources]
    resources = [
        (str(r.get("resourceType", "")), r.get("id"), body.decode())
        for r, body in zip(record.resources, bodies, strict=True)
    ]
    return Prepared(
        recorded=record.recorded.astimezone(UTC),
        scalars={
            "caller": record.caller,
            "user": record.user,
            "patient_ref": record.patient_ref,
            "request_id": record.request_id,
            "hook_instance": record.hook_instance,
            "rule_set": record.rule_set,
            "input_sha256": record.input_sha256,
            "category": record.category,
        },
        json={name: canonical_plain(getattr(record, name)) for name in _JSON_FIELDS},
        resources_sha256=resources_hash(bodies),
        resources=resources,
    )


def _plain_dataclass(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return orjson.loads(orjson.dumps(value))  # a map, its keys sorted by the caller
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def canonical_plain(value: Any) -> bytes:
    """``canonical_json`` of the value as the database gives it back, in one pass.

    The same bytes as ``canonical_json(orjson.loads(orjson.dumps(value)))``: orjson writes a
    dataclass's fields in their declared order even with OPT_SORT_KEYS, so dataclasses go
    through the round trip (their keys then sorted); everything else is serialised once.
    """
    return orjson.dumps(
        value,
        option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS,
        default=_plain_dataclass,
    )


def content_bytes(record: Prepared, seq: int, stored_at: datetime) -> bytes:
    """``canonical_json(content_of(row))`` of the stored row, built from the canonical bytes.

    ``orjson.Fragment`` inserts each JSON column's canonical bytes verbatim: they are already
    what ``canonical_json`` gives for the value the database hands back (keys sorted at every
    level, the same number and string forms), so the bytes, and the hash, are the same.
    """
    content: dict[str, Any] = {
        **record.scalars,
        **{name: orjson.Fragment(data) for name, data in record.json.items()},
        "seq": seq,
        "recorded": utc_instant(record.recorded),
        "stored_at": utc_instant(stored_at),
        "resources_sha256": record.resources_sha256,
    }
    return canonical_json(content)


def _head_row(row: Any) -> Any:
    """The chain head's row; a store without it (not migrated) is unavailable (503), as
    before the driver-level append, never a 500."""
    if row is None:
        raise StoreUnavailable("audit store: the chain head is missing (run hipspine db upgrade)")
    return row


def _link(record: Prepared, seq: int, prev: str, stored_at: datetime) -> str:
    return link_hash(prev, sha256_hex(content_bytes(record, seq, stored_at)))


class Appender:
    """Appends prepared records to the chain of one engine, each in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, record: Prepared) -> StoredRecord:
        """Append and commit ``record``; database errors propagate (the store maps them)."""
        raise NotImplementedError


class SqliteAppender(Appender):
    """sqlite3 under BEGIN IMMEDIATE (the write transaction holds the database's write lock)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        dialect = engine.dialect
        # Times as SQLAlchemy stores and reads them on SQLite (its DateTime processors).
        time_type = t.evaluations.c.recorded.type.dialect_impl(dialect)
        bind = time_type.bind_processor(dialect)
        result = time_type.result_processor(dialect, None)
        assert bind is not None and result is not None
        self._time: Callable[[datetime], Any] = bind
        self._read_time: Callable[[Any], Any] = result
        self._head = "SELECT seq, record_hash, clock FROM chain_head WHERE id = 1"
        self._insert_evaluation = _insert("evaluations", _EVALUATION_COLUMNS, "?")
        self._insert_resource = _insert("audit_resources", _RESOURCE_COLUMNS, "?")
        self._update_head = "UPDATE chain_head SET seq = ?, record_hash = ?, clock = ? WHERE id = 1"

    def append(self, record: Prepared) -> StoredRecord:
        with write_transaction(self.engine) as conn:  # BEGIN IMMEDIATE ... COMMIT
            return self._append(conn, record)

    def _append(self, conn: Connection, record: Prepared) -> StoredRecord:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._head)
            head_seq, prev, clock = _head_row(cursor.fetchone())
            seq = int(head_seq) + 1
            stored_at = next_stored_at(conn, self._read_time(clock))
            record_hash = _link(record, seq, prev, stored_at)
            recorded, stored = self._time(record.recorded), self._time(stored_at)
            cursor.execute(
                self._insert_evaluation,
                _evaluation_values(record, seq, recorded, stored, record_hash, prev),
            )
            if record.resources:
                cursor.executemany(
                    self._insert_resource,
                    [
                        (seq, i, kind, rid, recorded, text)
                        for i, (kind, rid, text) in enumerate(record.resources)
                    ],
                )
            cursor.execute(self._update_head, (seq, record_hash, stored))
        finally:
            cursor.close()
        return StoredRecord(seq=seq, record_hash=record_hash, prev_hash=prev)


class PostgresAppender(Appender):
    """psycopg 3 in pipeline mode, statements prepared at once (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._head = (
            "SELECT seq, record_hash, clock, clock_timestamp() FROM chain_head"
            " WHERE id = 1 FOR UPDATE"
        )
        casts = {"seq": "::bigint", **{name: "::json" for name in _JSON_FIELDS}}
        self._insert_evaluation = _insert("evaluations", _EVALUATION_COLUMNS, "%s", casts)
        self._insert_resource = _insert(
            "audit_resources", _RESOURCE_COLUMNS, "%s", {"evaluation_seq": "::bigint"}
        )
        self._update_head = (
            "UPDATE chain_head SET seq = %s::bigint, record_hash = %s, clock = %s WHERE id = 1"
        )

    def append(self, record: Prepared) -> StoredRecord:
        with self.engine.connect() as conn:
            # BEGIN and COMMIT are sent in the pipeline by us: psycopg would sync (one more
            # round trip) after a BEGIN of its own. SQLAlchemy restores the connection's
            # isolation level when it goes back to the pool.
            conn.execution_options(isolation_level="AUTOCOMMIT")
            raw = conn.connection.driver_connection
            assert raw is not None
            try:
                return self._append(conn, raw, record)
            except BaseException:
                if not raw.closed and raw.info.transaction_status != TransactionStatus.IDLE:
                    raw.rollback()  # a failed append leaves no transaction open
                raise

    def _append(self, conn: Connection, raw: Any, record: Prepared) -> StoredRecord:
        with raw.pipeline(), raw.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(self._head, prepare=True)
            head_seq, prev, clock, now = _head_row(cursor.fetchone())  # the head, locked
            seq = int(head_seq) + 1
            stored_at = next_stored_at(conn, clock, now)
            record_hash = _link(record, seq, prev, stored_at)
            cursor.execute(
                self._insert_evaluation,
                _evaluation_values(record, seq, record.recorded, stored_at, record_hash, prev),
                prepare=True,
            )
            if record.resources:
                cursor.executemany(  # psycopg prepares executemany's statement itself
                    self._insert_resource,
                    [
                        (seq, i, kind, rid, record.recorded, text)
                        for i, (kind, rid, text) in enumerate(record.resources)
                    ],
                )
            cursor.execute(self._update_head, (seq, record_hash, stored_at), prepare=True)
            cursor.execute("COMMIT")
        # leaving the pipeline is the second round trip: the writes and COMMIT, one Sync
        return StoredRecord(seq=seq, record_hash=record_hash, prev_hash=prev)


def appender_for(engine: Engine) -> Appender:
    if engine.dialect.name == "sqlite":
        return SqliteAppender(engine)
    if engine.dialect.driver == "psycopg":
        return PostgresAppender(engine)
    raise ValueError(f"the audit store supports sqlite and postgresql+psycopg, not {engine.url}")


def _insert(
    table: str, columns: Sequence[str], mark: str, casts: Mapping[str, str] | None = None
) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f"{mark}{(casts or {}).get(c, '')}" for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


def _evaluation_values(
    record: Prepared, seq: int, recorded: Any, stored_at: Any, record_hash: str, prev: str
) -> tuple[Any, ...]:
    values = {
        **record.scalars,
        **{name: data.decode() for name, data in record.json.items()},
        "seq": seq,
        "recorded": recorded,
        "stored_at": stored_at,
        "resources_sha256": record.resources_sha256,
        "record_hash": record_hash,
        "prev_hash": prev,
    }
    return tuple(values[name] for name in _EVALUATION_COLUMNS)
