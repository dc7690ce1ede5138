"""The SQL audit store: append-only, hash-chained evaluations on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Executable,
    Select,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from service.audit import tables as t
from service.audit.append import appender_for, prepare
from service.audit.chain import (
    VerifyResult,
    aware,
    chain_rows,
    verify_chain,
)
from service.audit.engine import make_engine, unavailable_on_error, write_transaction
from service.audit.jobs import ExportJobs
from service.audit.migrate import upgrade_engine
from service.audit.port import EvaluationRecord, FeedbackItem, StoredRecord

_STREAM = {"yield_per": 500}


@dataclass(frozen=True)
class ExportedResource:
    """One stored FHIR resource, its JSON as stored (one NDJSON line)."""

    evaluation_seq: int
    resource_type: str
    recorded: datetime
    json: str


def _plain(value: Any) -> Any:
    """The JSON value as the database will give it back (tuples become lists)."""
    return orjson.loads(orjson.dumps(value))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC)


class SqlAuditStore:
    """The AuditStore port on SQLAlchemy; safe to share between threads, workers and hosts."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._appender = appender_for(self.engine)
        self.export_jobs = ExportJobs(self.engine)

    def upgrade(self) -> str | None:
        """Apply the schema migrations (start-up, ``hipspine db upgrade``)."""
        return upgrade_engine(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        with unavailable_on_error("be reached"), self.engine.connect() as conn:
            conn.execute(select(t.chain_head.c.seq)).one()

    # -- the chain ------------------------------------------------------------------------

    def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
        """Append and commit one evaluation (service.audit.append: the hot path)."""
        prepared = prepare(record)  # serialised before the chain is locked
        with unavailable_on_error("record the evaluation"):
            return self._appender.append(prepared)

    def head(self) -> StoredRecord:
        """The chain's last link (seq 0 and the genesis hash when empty)."""
        with unavailable_on_error("read the chain head"), self.engine.connect() as conn:
            row = conn.execute(select(t.chain_head).where(t.chain_head.c.id == 1)).one()
            prev = conn.execute(
                select(t.evaluations.c.prev_hash).where(t.evaluations.c.seq == row.seq)
            ).scalar_one_or_none()
        return StoredRecord(seq=row.seq, record_hash=row.record_hash, prev_hash=prev or "")

    def verify(self) -> VerifyResult:
        """Walk the whole chain (streaming) and name the first broken record, if any."""
        e, r = t.evaluations.c, t.audit_resources.c
        with unavailable_on_error("verify the chain"), ExitStack() as stack:
            conn = stack.enter_context(self.engine.connect())
            head = conn.execute(select(t.chain_head).where(t.chain_head.c.id == 1)).one()
            # Bounded by the head read first: appends running meanwhile are not half-seen.
            query = select(t.evaluations).where(e.seq <= head.seq).order_by(e.seq)
            evaluations = stack.enter_context(_streamed(conn, query))
            res_conn = stack.enter_context(self.engine.connect())
            query = select(r.evaluation_seq, r.resource, r.resource_type, r.recorded)
            query = query.order_by(r.evaluation_seq, r.position)
            resources = stack.enter_context(_streamed(res_conn, query))
            rows = chain_rows(evaluations.mappings(), (tuple(x) for x in resources))
            return verify_chain(rows, head=(head.seq, head.record_hash))

    # -- export ---------------------------------------------------------------------------

    def _resource_query(
        self,
        since: datetime | None,
        until: datetime | None,
        types: Collection[str] | None,
        max_seq: int | None,
    ) -> Select[Any]:
        r, e = t.audit_resources.c, t.evaluations.c
        query = select(r.evaluation_seq, r.resource_type, r.recorded, r.resource)
        if since is not None or until is not None:
            query = query.join(t.evaluations, e.seq == r.evaluation_seq)
            query = query.where(*_stored_between(since, until))
        if types is not None:
            query = query.where(r.resource_type.in_(sorted(types)))
        if max_seq is not None:
            query = query.where(r.evaluation_seq <= max_seq)
        return query

    def since(
        self,
        since: datetime | None = None,
        *,
        until: datetime | None = None,
        types: Collection[str] | None = None,
        max_seq: int | None = None,
    ) -> Iterator[ExportedResource]:
        """Stored resources of the evaluations recorded in the store after ``since`` (and up
        to ``until``, inclusive), by ``stored_at``; in record order.

        Streams with a server-side cursor: never the whole export in memory.
        """
        query = self._resource_query(since, until, types, max_seq).order_by(t.audit_resources.c.id)
        with (
            unavailable_on_error("read the audit resources"),
            self.engine.connect() as conn,
            _streamed(conn, query) as result,
        ):
            for row in result:
                yield ExportedResource(
                    row.evaluation_seq, row.resource_type, aware(row.recorded), row.resource
                )

    def count_by_type(
        self,
        since: datetime | None = None,
        *,
        until: datetime | None = None,
        types: Collection[str] | None = None,
        max_seq: int | None = None,
    ) -> dict[str, int]:
        base = self._resource_query(since, until, types, max_seq).subquery()
        query = select(base.c.resource_type, func.count()).group_by(base.c.resource_type)
        with unavailable_on_error("count the audit resources"), self.engine.connect() as conn:
            return {kind: int(n) for kind, n in conn.execute(query)}

    def evaluation_rows(
        self, since: datetime | None = None, *, until: datetime | None = None
    ) -> Iterator[Mapping[Any, Any]]:
        """Evaluation rows stored after ``since`` (up to ``until``), streamed in ``seq`` order."""
        e = t.evaluations.c
        query = select(t.evaluations).order_by(e.seq)
        query = query.where(*_stored_between(since, until))
        with unavailable_on_error("read the evaluations"), self.engine.connect() as conn:
            with _streamed(conn, query) as result:
                yield from result.mappings()

    def count_evaluations(
        self, since: datetime | None = None, *, until: datetime | None = None
    ) -> int:
        query = select(func.count()).select_from(t.evaluations)
        query = query.where(*_stored_between(since, until))
        with unavailable_on_error("count the evaluations"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- feedback and JWT ids -------------------------------------------------------------

    def record_feedback(self, items: Sequence[FeedbackItem]) -> int:
        new = 0
        received = datetime.now(UTC)
        for item in items:
            values = {
                "received": received,
                "service_id": item.service_id,
                "card_uuid": item.card_uuid,
                "outcome": item.outcome,
                "outcome_timestamp": item.outcome_timestamp,
                "accepted_suggestions": _plain(item.accepted_suggestions),
                "override_reason": _plain(item.override_reason),
                "caller": item.caller,
            }
            with unavailable_on_error("record feedback"):
                try:
                    with write_transaction(self.engine) as conn:
                        conn.execute(insert(t.feedback), [values])
                except IntegrityError:  # already stored: the idempotent case, not a failure
                    continue
            new += 1
        return new

    def feedback_rows(
        self, since: datetime | None = None, *, until: datetime | None = None
    ) -> list[Mapping[Any, Any]]:
        """Feedback received after ``since`` (up to ``until``), in arrival order: the outcome
        and the chosen override reason of each card (clinical-spec §6.3, Q4-32f)."""
        received = t.feedback.c.received
        query = select(t.feedback).order_by(t.feedback.c.id)
        if since is not None:
            query = query.where(received > _utc(since))
        if until is not None:
            query = query.where(received <= _utc(until))
        with unavailable_on_error("read the feedback"), self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        now = datetime.now(UTC)
        with unavailable_on_error("remember the JWT id"):
            try:
                with write_transaction(self.engine) as conn:
                    conn.execute(delete(t.seen_jti).where(t.seen_jti.c.expires_at < now))
                    conn.execute(
                        insert(t.seen_jti),
                        [{"issuer": issuer, "jti": jti, "expires_at": _utc(expires_at)}],
                    )
            except IntegrityError:  # (issuer, jti) already seen and not expired: a replay
                return False
        return True

    def execute_sql(self, sql: str, **params: Any) -> None:
        """Run raw SQL in a write transaction (tests alter records with it; never the service)."""
        with write_transaction(self.engine) as conn:
            conn.execute(text(sql), params)


def _stored_between(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """``since < stored_at <= until``: recorded in the store after ``since``, up to ``until``."""
    stored_at = t.evaluations.c.stored_at
    conditions = []
    if since is not None:
        conditions.append(stored_at > _utc(since))
    if until is not None:
        conditions.append(stored_at <= _utc(until))
    return conditions


@contextmanager
def _streamed(conn: Connection, query: Executable) -> Iterator[CursorResult[Any]]:
    """A server-side cursor (PostgreSQL) read in batches, closed even if left early."""
    result = conn.execution_options(**_STREAM).execute(query)
    try:
        yield result
    finally:
        result.close()
