"""What a committed record survives on SQLite: the pragmas in force on the store's own
connections (README "Durability"), and the ``synchronous`` choice of DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import event

from service.audit.store import SqlAuditStore
from service.config import ConfigError
from tests.audit.records import make_record

FULL, NORMAL = 2, 1  # PRAGMA synchronous reads back as a number


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "audit.db"


def _pragmas_of_every_connection(store: SqlAuditStore) -> list[tuple[int, str]]:
    """(synchronous, journal_mode) of three connections held at once (so three distinct
    pool connections) and of the connection each append commits on."""
    seen: list[tuple[int, str]] = []

    def on_commit(conn: object) -> None:
        raw = conn.connection.driver_connection  # type: ignore[attr-defined]
        seen.append(
            (
                raw.execute("PRAGMA synchronous").fetchone()[0],
                raw.execute("PRAGMA journal_mode").fetchone()[0],
            )
        )

    event.listen(store.engine, "commit", on_commit)
    try:
        for i in range(1, 4):
            store.record_evaluation(make_record(i))
    finally:
        event.remove(store.engine, "commit", on_commit)
    with ExitStack() as stack:
        for _ in range(3):
            conn = stack.enter_context(store.engine.connect())
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            seen.append((synchronous, mode))
    return seen


def test_by_default_every_connection_syncs_each_commit_to_disk(sqlite_path: Path) -> None:
    """WAL + FULL: a committed record survives a power cut or an OS crash."""
    store = SqlAuditStore(f"sqlite:///{sqlite_path}")
    store.upgrade()
    try:
        pragmas = _pragmas_of_every_connection(store)
    finally:
        store.close()
    assert len(pragmas) == 6
    assert set(pragmas) == {(FULL, "wal")}


@pytest.mark.parametrize("value", ["normal", "NORMAL"])
def test_synchronous_normal_is_an_explicit_choice_in_the_url(sqlite_path: Path, value: str) -> None:
    store = SqlAuditStore(f"sqlite:///{sqlite_path}?synchronous={value}")
    store.upgrade()
    try:
        pragmas = _pragmas_of_every_connection(store)
        assert store.verify().ok
    finally:
        store.close()
    assert set(pragmas) == {(NORMAL, "wal")}


def test_synchronous_full_can_be_said_explicitly(sqlite_path: Path) -> None:
    store = SqlAuditStore(f"sqlite:///{sqlite_path}?synchronous=full")
    store.upgrade()
    try:
        assert set(_pragmas_of_every_connection(store)) == {(FULL, "wal")}
    finally:
        store.close()


@pytest.mark.parametrize("value", ["off", "extra", "full&synchronous=normal"])
def test_any_other_synchronous_is_refused_naming_the_variable(
    sqlite_path: Path, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        SqlAuditStore(f"sqlite:///{sqlite_path}?synchronous={value}")
    assert caught.value.variable == "DATABASE_URL"
    assert "full or normal" in str(caught.value)
