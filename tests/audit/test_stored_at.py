"""``stored_at``: when the store appended a record; what ``_since`` selects; verify covers it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from service.audit import clock
from service.audit import tables as t
from service.audit.chain import (
    GENESIS_HASH,
    LEGACY_FIELDS,
    ChainRow,
    canonical_json,
    content_hash,
    content_of,
    link_hash,
    resources_hash,
    verify_chain,
)
from service.audit.engine import write_transaction
from service.audit.migrate import upgrade_engine
from service.audit.store import SqlAuditStore
from tests.audit.records import BASE_TIME, make_record, stored_times

EDITS = [datetime(1999, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)]


@pytest.mark.parametrize("moment", EDITS)
def test_an_edited_stored_at_breaks_the_chain_at_that_record(
    store: SqlAuditStore, moment: datetime
) -> None:
    for i in range(1, 5):
        store.record_evaluation(make_record(i))
    store.execute_sql("UPDATE evaluations SET stored_at = :m WHERE seq = 3", m=moment)
    result = store.verify()
    assert (result.ok, result.first_broken_seq) == (False, 3), result.reason
    assert "record 3" in result.reason and "altered" in result.reason


def test_stored_at_is_the_stores_time_and_strictly_increases_with_seq(
    store: SqlAuditStore,
) -> None:
    before = datetime.now(UTC)
    for i in range(1, 6):
        store.record_evaluation(make_record(i, recorded=BASE_TIME))  # the same own time
    stored = stored_times(store)
    assert all(a < b for a, b in zip(stored, stored[1:], strict=False))
    # The database's clock on PostgreSQL: allow it a little skew from this host's.
    assert before - timedelta(seconds=5) < stored[0] < datetime.now(UTC) + timedelta(seconds=5)


def test_a_clock_that_stands_still_or_steps_back_loses_no_record_at_the_boundary(
    store: SqlAuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every append and kick-off sees the same instant: ties everywhere, none lost or doubled."""
    store.record_evaluation(make_record(1))  # the real clock: now
    frozen = datetime(2020, 1, 1, tzinfo=UTC)  # years behind the first record
    monkeypatch.setattr(clock, "_now", lambda _conn, _server_now=None: frozen)
    store.record_evaluation(make_record(2))
    job = store.export_jobs.create(request="r", since=None, types=None)
    store.record_evaluation(make_record(3))
    second = store.export_jobs.create(request="r", since=job.transaction_time, types=None)
    stored = stored_times(store)
    assert stored[0] < stored[1] <= job.transaction_time < stored[2] <= second.transaction_time
    assert (job.max_seq, second.max_seq) == (2, 3)
    first_ids = [r.evaluation_seq for r in store.since(None, types={"CarePlan"}, max_seq=2)]
    next_ids = [
        r.evaluation_seq
        for r in store.since(job.transaction_time, types={"CarePlan"}, max_seq=second.max_seq)
    ]
    assert (first_ids, next_ids) == ([1, 2], [3])
    assert store.verify().ok


def _append_as_revision_0001(store: SqlAuditStore, i: int, recorded: datetime) -> None:
    """What the store wrote before revision 0002: no stored_at, hash without it."""
    record = make_record(i, recorded=recorded)
    bodies = [canonical_json(r) for r in record.resources]
    with write_transaction(store.engine) as conn:
        head = conn.execute(select(t.chain_head.c.seq, t.chain_head.c.record_hash)).one()
        row: dict[str, Any] = {
            "seq": head.seq + 1, "recorded": recorded, "caller": record.caller,
            "user": record.user, "patient_ref": record.patient_ref,
            "request_id": record.request_id, "hook_instance": record.hook_instance,
            "rule_set": record.rule_set, "input_sha256": record.input_sha256,
            "inputs_used": list(record.inputs_used), "category": record.category,
            "recommendations": list(record.recommendations), "warnings": list(record.warnings),
            "outputs": record.outputs, "resources_sha256": resources_hash(bodies),
        }  # fmt: skip
        record_hash = link_hash(head.record_hash, content_hash(content_of(row, LEGACY_FIELDS)))
        conn.execute(insert(t.evaluations), [{**row, "record_hash": record_hash,
                                              "prev_hash": head.record_hash}])  # fmt: skip
        conn.execute(
            insert(t.audit_resources),
            [{"evaluation_seq": row["seq"], "position": n, "resource_type": r["resourceType"],
              "resource_id": r.get("id"), "recorded": recorded, "resource": body.decode()}
             for n, (r, body) in enumerate(zip(record.resources, bodies, strict=True))],
        )  # fmt: skip
        conn.execute(update(t.chain_head).values(seq=row["seq"], record_hash=record_hash))


@pytest.fixture
def legacy(store_url: str) -> Any:
    """A store with three records written under revision 0001, then upgraded."""
    store = SqlAuditStore(store_url)
    upgrade_engine(store.engine, "0001")
    # Out of order by their own time, as an evaluation in flight could leave them.
    for i, minute in ((1, 5), (2, 9), (3, 7)):
        _append_as_revision_0001(store, i, BASE_TIME + timedelta(minutes=minute))
    assert store.upgrade() == "0003"  # the head (0003: the SMART launch sessions)
    yield store
    store.close()


def test_records_written_before_revision_0002_verify_and_keep_their_own_time(
    legacy: SqlAuditStore,
) -> None:
    stored = stored_times(legacy)
    assert stored == [BASE_TIME + timedelta(minutes=m) for m in (5, 9, 7)]
    assert legacy.verify().ok
    legacy.record_evaluation(make_record(4, recorded=BASE_TIME))
    legacy.record_evaluation(make_record(5, recorded=BASE_TIME))
    result = legacy.verify()
    assert (result.ok, result.count) == (True, 5), result.reason
    after = [r.evaluation_seq for r in legacy.since(stored[2], types={"CarePlan"})]
    assert after == [2, 4, 5]


def test_an_edited_stored_at_of_a_record_from_before_revision_0002_is_caught(
    legacy: SqlAuditStore,
) -> None:
    legacy.record_evaluation(make_record(4))
    legacy.execute_sql(
        "UPDATE evaluations SET stored_at = :m WHERE seq = 2", m=datetime(2099, 1, 1, tzinfo=UTC)
    )
    result = legacy.verify()
    assert (result.ok, result.first_broken_seq) == (False, 2), result.reason


def _rows(*seconds: int, legacy: frozenset[int] = frozenset()) -> list[ChainRow]:
    """Chain rows stored these seconds after BASE_TIME; those in ``legacy`` hash without it."""
    rows, prev = [], GENESIS_HASH
    for seq, second in enumerate(seconds, start=1):
        moment = BASE_TIME + timedelta(seconds=second)
        old = {"seq": seq, "recorded": moment.isoformat()}
        content = {**old, "stored_at": moment.isoformat()}
        record_hash = link_hash(prev, content_hash(old if seq in legacy else content))
        rows.append(ChainRow(seq, content, record_hash, prev, None, moment, old))
        prev = record_hash
    return rows


def test_verify_refuses_a_hashed_record_stored_no_later_than_one_before_it() -> None:
    result = verify_chain(_rows(0, 2, 1))
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "stored_at" in result.reason
    assert not verify_chain(_rows(0, 2, 2)).ok


def test_verify_accepts_legacy_records_out_of_order_but_none_after_a_hashed_one() -> None:
    assert verify_chain(_rows(2, 1, 3, legacy=frozenset({1, 2}))).ok
    result = verify_chain(_rows(1, 2, 3, legacy=frozenset({2})))
    assert (result.ok, result.first_broken_seq) == (False, 2)
