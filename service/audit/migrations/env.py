"""Alembic environment: runs on the connection service.audit.migrate hands over."""

from __future__ import annotations

from alembic import context

from service.audit.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the audit migrations through service.audit.migrate.upgrade()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
