"""When each record was stored: ``evaluations.stored_at`` and the chain clock ``chain_head.clock``.

``_since`` (and the CLI's ``--since``/``--until``) select on ``stored_at``, taken under the chain
lock, instead of the evaluation's own ``recorded`` time, taken before it: an evaluation in
flight at an export's kick-off is then in the next incremental export (service.audit.clock).

Existing records get ``stored_at = recorded`` (their hash covers ``recorded``; verify holds
them to that equality); the clock starts at the latest of them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)
# SQLite cannot make a column NOT NULL after the fact without rebuilding the table, and
# rebuilding ``evaluations`` under its foreign keys fails inside the upgrade's transaction:
# there the columns are added NOT NULL with a constant default (the epoch, in SQLAlchemy's
# SQLite storage format), which every existing row then overwrites. The store always sets them.
_SQLITE_EPOCH = "1970-01-01 00:00:00.000000"


def _add_not_null(table: str, column: str, fill: str) -> None:
    """Add a timestamp column NOT NULL, filled for existing rows by the SQL ``fill``."""
    if op.get_bind().dialect.name == "sqlite":
        default = sa.text(f"'{_SQLITE_EPOCH}'")
        op.add_column(table, sa.Column(column, _TS, nullable=False, server_default=default))
        op.execute(f"UPDATE {table} SET {column} = {fill}")
        return
    op.add_column(table, sa.Column(column, _TS, nullable=True))
    op.execute(f"UPDATE {table} SET {column} = {fill}")
    op.alter_column(table, column, existing_type=_TS, nullable=False)


def upgrade() -> None:
    _add_not_null("evaluations", "stored_at", "recorded")
    op.create_index("ix_evaluations_stored_at", "evaluations", ["stored_at"])
    epoch = f"'{_SQLITE_EPOCH}'" if op.get_bind().dialect.name == "sqlite" else "'epoch'"
    latest = f"COALESCE((SELECT MAX(stored_at) FROM evaluations), {epoch})"
    _add_not_null("chain_head", "clock", latest)


def downgrade() -> None:
    """Refused once records hash their ``stored_at``: dropping it would break the chain."""
    stored = sa.text("SELECT COUNT(*) FROM evaluations WHERE stored_at <> recorded")
    if op.get_bind().execute(stored).scalar_one():
        raise RuntimeError("records written since revision 0002 hash stored_at: not downgrading")
    # Plain ALTER TABLE … DROP COLUMN (SQLite >= 3.35 has it): no table rebuild, see above.
    op.drop_column("chain_head", "clock")
    op.drop_index("ix_evaluations_stored_at", table_name="evaluations")
    op.drop_column("evaluations", "stored_at")
