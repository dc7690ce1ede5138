"""The SQL audit store against real SQLite and real PostgreSQL: the same tests on both."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from service.audit import tables as t
from service.audit.migrate import upgrade
from service.audit.store import SqlAuditStore
from service.errors import StoreUnavailable
from tests.audit.pg_cluster import free_port
from tests.audit.records import feedback_item, make_record

FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def test_appended_records_form_a_chain_that_verifies(store: SqlAuditStore) -> None:
    stored = [store.record_evaluation(make_record(i)) for i in range(1, 6)]
    assert [s.seq for s in stored] == [1, 2, 3, 4, 5]
    assert stored[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.record_hash for a, b in zip(stored, stored[1:], strict=False))
    result = store.verify()
    assert (result.ok, result.count, result.first_broken_seq) == (True, 5, None)
    assert store.head().record_hash == stored[-1].record_hash


def test_the_record_keeps_every_field_the_issue_names(store: SqlAuditStore) -> None:
    record = make_record(3)
    store.record_evaluation(record)
    with store.engine.connect() as conn:
        row = conn.execute(select(t.evaluations)).mappings().one()
    assert row["caller"] == record.caller and row["user"] == record.user
    assert row["patient_ref"] == record.patient_ref and row["request_id"] == "req-3"
    assert row["hook_instance"] == record.hook_instance and row["rule_set"] == record.rule_set
    assert row["input_sha256"] == record.input_sha256 and row["category"] == "HSC-2"
    assert row["inputs_used"] == list(record.inputs_used)
    assert row["recommendations"] == list(record.recommendations)
    assert row["warnings"] == list(record.warnings)
    assert row["outputs"] == orjson.loads(orjson.dumps(record.outputs))
    kinds = [r.resource_type for r in store.since()]
    assert kinds == ["ClinicalImpression", "CarePlan", "Provenance", "AuditEvent",
                     "GuidanceResponse"]  # fmt: skip


def test_eight_threads_appending_200_each_make_one_valid_chain_of_1600(
    store: SqlAuditStore,
) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(200):
                store.record_evaluation(make_record(worker * 1000 + n, hook=False))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = store.verify()
    assert (result.ok, result.count) == (True, 1600), result.reason
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.audit_resources)).scalar() == 6400


@pytest.mark.parametrize(
    ("sql", "seq", "words"),
    [
        ("UPDATE evaluations SET category = 'HSC-4' WHERE seq = 3", 3, "altered"),
        ("UPDATE evaluations SET recorded = :later WHERE seq = 2", 2, "altered"),
        ("UPDATE audit_resources SET resource = '{}' WHERE evaluation_seq = 4", 4, "resources"),
        ("DELETE FROM audit_resources WHERE evaluation_seq = 5", 5, "resources"),
    ],
)
def test_verify_names_the_first_record_altered_in_the_database(
    store: SqlAuditStore, sql: str, seq: int, words: str
) -> None:
    for i in range(1, 7):
        store.record_evaluation(make_record(i))
    store.execute_sql(sql, later=datetime(2030, 1, 1, tzinfo=UTC))
    result = store.verify()
    assert (result.ok, result.first_broken_seq) == (False, seq)
    assert f"record {seq}" in result.reason and words in result.reason


def test_verify_notices_records_deleted_from_the_end(store: SqlAuditStore) -> None:
    for i in range(1, 5):
        store.record_evaluation(make_record(i))
    store.execute_sql("DELETE FROM audit_resources WHERE evaluation_seq = 4")
    store.execute_sql("DELETE FROM evaluations WHERE seq = 4")
    result = store.verify()
    assert (result.ok, result.first_broken_seq) == (False, 4)


def test_feedback_is_stored_once_however_often_it_is_sent(store: SqlAuditStore) -> None:
    first = [feedback_item("card-1"), feedback_item("card-2", "overridden")]
    assert store.record_feedback(first) == 2
    assert store.record_feedback(first) == 0
    again = [feedback_item("card-1"), feedback_item("card-1", ts="2026-03-01T09:00:00Z")]
    assert store.record_feedback(again) == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.feedback)).scalar() == 3


def test_a_jwt_id_is_refused_the_second_time_even_by_another_store_instance(
    store_url: str,
) -> None:
    upgrade(store_url)
    first, second = SqlAuditStore(store_url), SqlAuditStore(store_url)
    try:
        assert first.remember_jti("https://ehr.example.org", "jti-1", FUTURE) is True
        assert second.remember_jti("https://ehr.example.org", "jti-1", FUTURE) is False
        assert first.remember_jti("https://ehr.example.org", "jti-1", FUTURE) is False
        assert second.remember_jti("https://other.example.org", "jti-1", FUTURE) is True
    finally:
        first.close()
        second.close()


def test_expired_jwt_ids_are_purged(store: SqlAuditStore) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    assert store.remember_jti("iss", "old", past)
    assert store.remember_jti("iss", "new", FUTURE)
    with store.engine.connect() as conn:
        kept = conn.execute(select(t.seen_jti.c.jti)).scalars().all()
    assert kept == ["new"]


def test_the_migrations_create_exactly_the_tables_module(store: SqlAuditStore) -> None:
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert differences == []


def test_upgrading_twice_or_from_several_threads_at_once_is_harmless(store_url: str) -> None:
    results: list[str | None] = []
    threads = [threading.Thread(target=lambda: results.append(upgrade(store_url)))
               for _ in range(4)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["0003"] * 4  # the head (0003: the SMART launch sessions)
    assert upgrade(store_url) == "0003"


def test_an_unreachable_postgresql_makes_every_write_raise_store_unavailable() -> None:
    store = SqlAuditStore(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hipspine")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            store.record_evaluation(make_record(1))
        assert caught.value.status == 503
        with pytest.raises(StoreUnavailable):
            store.ping()
        with pytest.raises(StoreUnavailable):
            store.remember_jti("iss", "jti", FUTURE)
        with pytest.raises(StoreUnavailable):
            store.record_feedback([feedback_item("card-1")])
    finally:
        store.close()


def test_a_read_only_sqlite_database_raises_store_unavailable_and_keeps_its_chain(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    writable = SqlAuditStore(f"sqlite:///{path}")
    writable.upgrade()
    writable.record_evaluation(make_record(1))
    writable.close()
    read_only = SqlAuditStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with pytest.raises(StoreUnavailable):
            read_only.record_evaluation(make_record(2))
        assert read_only.verify().count == 1
    finally:
        read_only.close()


def test_a_sqlite_file_in_a_missing_directory_is_created(tmp_path: Path) -> None:
    store = SqlAuditStore(f"sqlite:///{tmp_path / 'new' / 'dir' / 'audit.db'}")
    try:
        store.upgrade()
        store.ping()
    finally:
        store.close()
    assert (tmp_path / "new" / "dir" / "audit.db").exists()


@pytest.mark.parametrize(
    ("sql", "seq"),
    [
        (
            "UPDATE audit_resources SET resource_type = 'Hidden' "
            "WHERE evaluation_seq = 2 AND resource_type = 'AuditEvent'",
            2,
        ),
        ("UPDATE audit_resources SET recorded = :earlier WHERE evaluation_seq = 3", 3),
    ],
)
def test_verify_catches_a_resource_hidden_from_type_or_since_by_its_index_columns(
    store: SqlAuditStore, sql: str, seq: int
) -> None:
    for i in range(1, 5):
        store.record_evaluation(make_record(i))
    store.execute_sql(sql, earlier=datetime(1999, 1, 1, tzinfo=UTC))
    result = store.verify()
    assert (result.ok, result.first_broken_seq) == (False, seq), result.reason
    assert f"record {seq}" in result.reason and "resources" in result.reason


def test_a_store_without_its_chain_head_row_is_unavailable_not_an_error(
    store: SqlAuditStore,
) -> None:
    """The driver-level append reads the head with fetchone(): a missing row is a 503
    (StoreUnavailable), as with the SQLAlchemy append before it, never a TypeError (500)."""
    store.record_evaluation(make_record(1))
    with store.engine.begin() as conn:
        conn.execute(t.chain_head.delete())
    with pytest.raises(StoreUnavailable):
        store.record_evaluation(make_record(2))
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.evaluations)).scalar() == 1
