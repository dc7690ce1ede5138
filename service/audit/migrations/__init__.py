"""Alembic environment and revisions of the audit store (run by service.audit.migrate)."""
