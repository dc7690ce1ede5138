"""The audit store's tables (SQLAlchemy Core): the schema the Alembic revisions create."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

# One row, id 1: the last link of the chain. Appenders lock it (FOR UPDATE on PostgreSQL,
# BEGIN IMMEDIATE on SQLite), so every worker and host appends to one chain in turn. ``clock``
# is the latest instant handed out under that lock: the last record's ``stored_at`` or a later
# export's transactionTime. The next record is stored strictly after it.
chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("clock", DateTime(timezone=True), nullable=False),
)

# Append-only: one row per evaluation, hash-chained in ``seq`` order (service.audit.chain).
# ``recorded`` is the evaluation's own time (taken by the pipeline); ``stored_at`` the time the
# store appended it, under the chain lock, strictly increasing with ``seq`` (what ``_since``,
# ``--since`` and ``--until`` select on).
evaluations = Table(
    "evaluations",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("recorded", DateTime(timezone=True), nullable=False, index=True),
    Column("stored_at", DateTime(timezone=True), nullable=False, index=True),
    Column("caller", Text, nullable=False),
    Column("user", Text, nullable=True),
    Column("patient_ref", Text, nullable=False, index=True),
    Column("request_id", Text, nullable=False, index=True),
    Column("hook_instance", Text, nullable=True),
    Column("rule_set", Text, nullable=False),
    Column("input_sha256", String(64), nullable=False),
    Column("inputs_used", JSON, nullable=False),
    Column("category", Text, nullable=False),
    Column("recommendations", JSON, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("outputs", JSON, nullable=False),
    Column("resources_sha256", String(64), nullable=False),
    Column("record_hash", String(64), nullable=False, unique=True),
    Column("prev_hash", String(64), nullable=False),
)

# One row per FHIR resource of an evaluation, its JSON kept verbatim for the export.
audit_resources = Table(
    "audit_resources",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("evaluation_seq", BigInteger, ForeignKey("evaluations.seq"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", Text, nullable=True),
    Column("recorded", DateTime(timezone=True), nullable=False),
    Column("resource", Text, nullable=False),
    UniqueConstraint("evaluation_seq", "position", name="uq_audit_resources_position"),
    Index("ix_audit_resources_type_seq", "resource_type", "evaluation_seq"),
    Index("ix_audit_resources_recorded", "recorded"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("received", DateTime(timezone=True), nullable=False),
    Column("service_id", Text, nullable=False),
    Column("card_uuid", Text, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("outcome_timestamp", Text, nullable=False),
    Column("accepted_suggestions", JSON, nullable=False),
    Column("override_reason", JSON, nullable=True),
    Column("caller", Text, nullable=False),
    UniqueConstraint(
        "service_id", "card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_item"
    ),
)

seen_jti = Table(
    "seen_jti",
    metadata,
    Column("issuer", Text, primary_key=True),
    Column("jti", Text, primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

export_jobs = Table(
    "export_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),  # in-progress | complete | error
    Column("request", Text, nullable=False),
    Column("since", DateTime(timezone=True), nullable=True),
    Column("types", JSON, nullable=True),  # null: every type present
    Column("created", DateTime(timezone=True), nullable=False),
    Column("transaction_time", DateTime(timezone=True), nullable=False),
    Column("max_seq", BigInteger, nullable=False),  # the snapshot: evaluations up to here
    Column("last_polled", DateTime(timezone=True), nullable=True),
    Column("output", JSON, nullable=True),  # [{type, count}] once complete
    Column("error", Text, nullable=True),
    Column("cancelled", Boolean, nullable=False, default=False),
)

# Not audit data: the console's SMART launch sessions (issue 13 item 6, migration 0003), in this
# database because it is the service's one store. Keyed by the SHA-256 of the browser's cookie
# value; ``secret`` holds the PKCE verifier, then the EHR's token, encrypted under a key derived
# from that cookie (service.fhir_server.smart). Rows expire and are deleted by the next launch.
smart_launch_sessions = Table(
    "smart_launch_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # pending -> exchanging -> active
    Column("state", String(128), nullable=False),
    Column("iss", Text, nullable=False),
    Column("token_endpoint", Text, nullable=False),
    Column("patient", Text, nullable=True),
    Column("secret", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
