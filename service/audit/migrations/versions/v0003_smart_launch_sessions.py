"""SMART launch sessions of the console (issue 13 item 6): ``smart_launch_sessions``.

Not audit data: one row per EHR launch of the console, keyed by the SHA-256 of the random
value in the browser's cookie (a database reader cannot use a row as a cookie). ``state`` and
the endpoints are plain; the PKCE verifier and, once authorised, the EHR's access token are in
``secret``, encrypted with a key derived from the cookie value (service.fhir_server.smart).
Rows expire (``expires_at``) and are deleted when the next launch starts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "smart_launch_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", sa.String(128), nullable=False),
        sa.Column("iss", sa.Text, nullable=False),
        sa.Column("token_endpoint", sa.Text, nullable=False),
        sa.Column("patient", sa.Text, nullable=True),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("smart_launch_sessions")
