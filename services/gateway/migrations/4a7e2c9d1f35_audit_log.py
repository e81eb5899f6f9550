"""the audit log: every decision taken through the API, append-only; receipts by age

The index on ingestion receipts by tenant and time serves the retention job.

Revision ID: 4a7e2c9d1f35
Revises: 9d2f6a4c1e07
Create Date: 2026-11-30 04:30:00.000000

A trigger refuses UPDATE and DELETE on the table (and TRUNCATE on PostgreSQL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db
from shared.tables import append_only_statements

revision: str = "4a7e2c9d1f35"
down_revision: str | None = "9d2f6a4c1e07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("actor_key_id", sa.Uuid(), nullable=False, comment="the API key that decided"),
        sa.Column(
            "actor_partner", sa.String(length=64), nullable=False, comment="that key's partner"
        ),
        sa.Column(
            "action",
            sa.String(length=64),
            nullable=False,
            comment="what was decided: api_key.created, …",
        ),
        sa.Column(
            "target",
            sa.String(length=300),
            nullable=False,
            comment="what it concerns: customer:<id>, …",
        ),
        sa.Column(
            "request_id",
            sa.String(length=200),
            nullable=True,
            comment="X-Request-Id of the deciding request",
        ),
        sa.Column(
            "change", sa.JSON(), nullable=False, comment="before and after, where they apply"
        ),
        sa.Column(
            "dedupe_key",
            sa.String(length=200),
            nullable=True,
            comment="a repeated request (same Idempotency-Key) is one decision: recorded once",
        ),
        sa.PrimaryKeyConstraint("entry_id"),
        comment="Append-only: a trigger refuses UPDATE and DELETE (services/gateway/audit.py).",
    )
    op.create_index(
        "ix_audit_entry_tenant_at", "audit_entry", ["tenant_id", "at", "entry_id"], unique=False
    )
    op.create_index(
        "ix_audit_entry_target", "audit_entry", ["tenant_id", "target", "at"], unique=False
    )
    op.create_index(
        "ix_audit_entry_actor", "audit_entry", ["tenant_id", "actor_key_id", "at"], unique=False
    )
    op.create_index(
        "ix_audit_entry_dedupe",
        "audit_entry",
        ["tenant_id", "action", "dedupe_key"],
        unique=True,
    )
    for statement in append_only_statements("audit_entry", op.get_bind().dialect.name):
        op.execute(statement)
    op.create_index(
        "ix_ingestion_receipt_received",
        "ingestion_receipt",
        ["tenant_id", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ingestion_receipt_received", table_name="ingestion_receipt")
    op.drop_table("audit_entry")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entry_refuse_change()")
