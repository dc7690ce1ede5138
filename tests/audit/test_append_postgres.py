"""The PostgreSQL append: its statements are prepared from their first use, and stay so after
the connection was used for a read (psycopg forgets its prepared statements at a ROLLBACK)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Connection

from service.audit.store import SqlAuditStore
from service.errors import StoreUnavailable
from tests.audit.pg_cluster import PostgresCluster
from tests.audit.records import make_record

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_cluster: PostgresCluster) -> Iterator[SqlAuditStore]:
    name = "t_prepared"
    postgres_cluster.drop_database(name)
    store = SqlAuditStore(postgres_cluster.create_database(name))
    store.upgrade()
    yield store
    store.close()
    postgres_cluster.drop_database(name)


def _prepared(conn: Connection) -> dict[str, int]:
    """The session's prepared statements: the first words of each, and how often it ran."""
    rows = conn.exec_driver_sql(
        "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
    ).all()
    return {" ".join(statement.split()[:3]): int(runs) for statement, runs in rows}


def test_the_append_statements_are_prepared_from_the_first_append(
    pg_store: SqlAuditStore,
) -> None:
    pg_store.record_evaluation(make_record(1))
    with pg_store.engine.connect() as conn:  # one writer: the pool's only connection
        prepared = _prepared(conn)
    assert prepared["INSERT INTO evaluations"] == 1
    assert prepared["INSERT INTO audit_resources"] == 5  # executemany: one per resource
    assert prepared["UPDATE chain_head SET"] == 1
    assert prepared["SELECT seq, record_hash,"] == 1  # the head, locked, with the clock
    # That read ended in a ROLLBACK, after which psycopg deallocates everything it prepared:
    # the next append prepares its statements again at once, not after 5 more executions.
    pg_store.record_evaluation(make_record(2))
    with pg_store.engine.connect() as conn:
        again = _prepared(conn)
    assert again["INSERT INTO evaluations"] == 1
    assert pg_store.verify().ok


def test_a_failed_append_leaves_no_transaction_open_nor_the_head_locked(
    pg_store: SqlAuditStore,
) -> None:
    """The append fails after the head is locked (PostgreSQL refuses NUL in text): the
    transaction is rolled back, the lock released and the next append goes through."""
    pg_store.record_evaluation(make_record(1))
    with pytest.raises(StoreUnavailable):
        pg_store.record_evaluation(replace(make_record(2), caller="iss\x00"))
    with pg_store.engine.connect() as conn:
        idle_in_transaction = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%%'"
        ).scalar_one()
    assert idle_in_transaction == 0
    other = SqlAuditStore(str(pg_store.engine.url.render_as_string(hide_password=False)))
    try:  # another process's view: it can lock the head at once
        assert other.record_evaluation(make_record(3)).seq == 2
    finally:
        other.close()
    assert pg_store.record_evaluation(make_record(4)).seq == 3
    result = pg_store.verify()
    assert (result.ok, result.count) == (True, 3), result.reason
