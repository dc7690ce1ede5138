"""Fixtures: a private PostgreSQL cluster per session, and a fresh store on each database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.audit.store import SqlAuditStore
from tests.audit.pg_cluster import PostgresCluster, find_bin_dir

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
            "(apt-get install postgresql; .ci/run does this)"
        )
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The private cluster's maintenance database (tests get their own database each)."""
    return postgres_cluster.url()


def _new_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield cluster.create_database(name)
    cluster.drop_database(name)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    yield from _new_url(request.param, tmp_path, request)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlAuditStore]:
    store = SqlAuditStore(store_url)
    store.upgrade()
    yield store
    for thread in threading.enumerate():  # export jobs still counting in the background
        if thread.name.startswith("export-"):
            thread.join(timeout=10)
    store.close()
