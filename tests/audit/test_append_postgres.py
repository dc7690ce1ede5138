"""The PostgreSQL append: its statements are prepared from their first use, and stay so after
the connection was used for a read (psycopg forgets its prepared statements at a ROLLBACK)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection

from service.audit.store import SqlAuditStore
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
