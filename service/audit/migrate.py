"""Schema migrations: Alembic revisions shipped inside the package, applied programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from service.audit.engine import (
    is_sqlite,
    make_engine,
    unavailable_on_error,
    write_transaction,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant: it names the advisory lock that serialises concurrent upgrades on PostgreSQL.
_UPGRADE_LOCK_KEY = 0x68697073_00000001


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_engine(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade to ``revision`` in one transaction, serialised against other processes.

    Several workers or hosts may start at once: on PostgreSQL an advisory lock makes the
    second wait, then find the schema current; on SQLite BEGIN IMMEDIATE does the same.
    Returns the revision the database is at afterwards.
    """
    config = _config()
    with unavailable_on_error("apply its schema migrations"):
        with write_transaction(engine) as conn:
            if not is_sqlite(engine):
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str, revision: str = "head") -> str | None:
    """Apply the migrations to the database at ``url`` (what ``hipspine db upgrade`` runs)."""
    engine = make_engine(url)
    try:
        return upgrade_engine(engine, revision)
    finally:
        engine.dispose()
