"""The first audit schema: chain head, evaluations, resources, feedback, seen jti, export jobs.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "record_hash": "0" * 64}])
    op.create_table(
        "evaluations",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("recorded", _TS, nullable=False, index=True),
        sa.Column("caller", sa.Text, nullable=False),
        sa.Column("user", sa.Text, nullable=True),
        sa.Column("patient_ref", sa.Text, nullable=False, index=True),
        sa.Column("request_id", sa.Text, nullable=False, index=True),
        sa.Column("hook_instance", sa.Text, nullable=True),
        sa.Column("rule_set", sa.Text, nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("inputs_used", sa.JSON, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("recommendations", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("resources_sha256", sa.String(64), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_resources",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "evaluation_seq", sa.BigInteger, sa.ForeignKey("evaluations.seq"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.Text, nullable=True),
        sa.Column("recorded", _TS, nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.UniqueConstraint("evaluation_seq", "position", name="uq_audit_resources_position"),
    )
    op.create_index(
        "ix_audit_resources_type_seq", "audit_resources", ["resource_type", "evaluation_seq"]
    )
    op.create_index("ix_audit_resources_recorded", "audit_resources", ["recorded"])
    op.create_table(
        "feedback",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("received", _TS, nullable=False),
        sa.Column("service_id", sa.Text, nullable=False),
        sa.Column("card_uuid", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("outcome_timestamp", sa.Text, nullable=False),
        sa.Column("accepted_suggestions", sa.JSON, nullable=False),
        sa.Column("override_reason", sa.JSON, nullable=True),
        sa.Column("caller", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "service_id", "card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_item"
        ),
    )
    op.create_table(
        "seen_jti",
        sa.Column("issuer", sa.Text, primary_key=True),
        sa.Column("jti", sa.Text, primary_key=True),
        sa.Column("expires_at", _TS, nullable=False, index=True),
    )
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("since", _TS, nullable=True),
        sa.Column("types", sa.JSON, nullable=True),
        sa.Column("created", _TS, nullable=False),
        sa.Column("transaction_time", _TS, nullable=False),
        sa.Column("max_seq", sa.BigInteger, nullable=False),
        sa.Column("last_polled", _TS, nullable=True),
        sa.Column("output", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("cancelled", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "export_jobs",
        "seen_jti",
        "feedback",
        "audit_resources",
        "evaluations",
        "chain_head",
    ):
        op.drop_table(name)
