"""Engines for the audit store: SQLite (WAL, serialised writers) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from service.errors import StoreUnavailable

log = logging.getLogger("hipspine.audit")

# Connection execution option: this transaction writes (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "hipspine_write"
SQLITE_BUSY_TIMEOUT_S = 30

# ``?synchronous=`` in a SQLite DATABASE_URL: the ``PRAGMA synchronous`` of every connection.
# FULL (the default): WAL + FULL syncs the log at each commit, so a committed record survives a
# power cut or an OS crash. NORMAL: WAL + NORMAL syncs only at checkpoints, so a committed record
# survives a crash of the service but the last commits may be lost with power (README
# "Durability"). PRAGMA synchronous reads the levels back as numbers (NORMAL 1, FULL 2).
SQLITE_SYNCHRONOUS = {"full": 2, "normal": 1}
DEFAULT_SQLITE_SYNCHRONOUS = "full"


# One lock per SQLite engine: its writing threads take turns in process (write_transaction).
_SQLITE_WRITERS: WeakKeyDictionary[Engine, threading.RLock] = WeakKeyDictionary()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def describe_url(url: str) -> str:
    """A database URL fit for a message: the password hidden, the host and port named."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(not a valid database URL)"
    shown = parsed.render_as_string(hide_password=True)
    if not parsed.host:
        return shown
    port = f" port {parsed.port}" if parsed.port else ""
    return f"{shown} (host {parsed.host}{port})"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created when missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    synchronous = _synchronous(parsed.query.get("synchronous", DEFAULT_SQLITE_SYNCHRONOUS))
    parsed = parsed.difference_update_query(["synchronous"])
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"audit store: cannot create {Path(database).parent}") from exc
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    _SQLITE_WRITERS[engine] = threading.RLock()
    event.listen(engine, "connect", _sqlite_on_connect(synchronous))
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _synchronous(value: str | tuple[str, ...]) -> str:
    """The ``synchronous`` URL parameter, checked: ``full`` or ``normal``."""
    level = ",".join(value) if isinstance(value, tuple) else value.strip().lower()
    if level not in SQLITE_SYNCHRONOUS:
        from service.config import ConfigError  # lazily: the settings import the clinical core

        raise ConfigError(
            "DATABASE_URL", f"synchronous expects full or normal (SQLite only); got {level!r}"
        )
    return level


def _sqlite_on_connect(synchronous: str) -> Callable[[sqlite3.Connection, Any], None]:
    def on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions defer the write lock).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:  # a read-only database: writes will fail, loudly, later
            log.warning("audit store: cannot switch SQLite to WAL mode")
        cursor.execute(f"PRAGMA synchronous = {synchronous.upper()}")  # see SQLITE_SYNCHRONOUS
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return on_connect


def _sqlite_on_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN: concurrent appenders queue (busy_timeout)
    # instead of failing on a lock upgrade; readers keep a plain deferred snapshot.
    writes = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that commits on success and rolls back on any exception.

    On SQLite the writers of one process queue on a lock first: BEGIN IMMEDIATE alone makes a
    waiting writer poll (busy_timeout sleeps 1, 2, 5, 10 ms ... between tries), the lock wakes
    it as soon as the writer before it is done. Other processes still queue on BEGIN IMMEDIATE.
    """
    with _writer_turn(engine), engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """This process's turn to write to a SQLite store, waited for no longer than a locked
    database is (busy_timeout): a stalled writer makes the others answer 503, never hang."""
    lock = _SQLITE_WRITERS.get(engine)
    if lock is None:
        yield
        return
    if not lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_S):
        raise StoreUnavailable("the audit store is busy (another writer holds it)")
    try:
        yield
    finally:
        lock.release()


_DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error, psycopg.Error)


@contextmanager
def unavailable_on_error(action: str) -> Iterator[None]:
    """Translate every database failure into StoreUnavailable (503), naming the action."""
    try:
        yield
    except _DATABASE_ERRORS as exc:  # SQLAlchemy's, or the driver's own (the append's path)
        cause = getattr(exc, "orig", None) or exc
        log.error("audit store cannot %s: %s", action, type(cause).__name__, exc_info=exc)
        raise StoreUnavailable(f"the audit store cannot {action} ({type(cause).__name__})") from exc
