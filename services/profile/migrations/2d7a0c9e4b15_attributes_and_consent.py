"""attributes, identity sources and consent

Customers carry the values of their tenant's declared attributes and a version (their
ETag); identities say who gave them and when they were last named; each tenant
declares its attributes; consent is kept per channel and purpose, with every decision
in an append-only history.

Revision ID: 2d7a0c9e4b15
Revises: f3c9a2d6b1e8
Create Date: 2026-11-30 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db

revision: str = "2d7a0c9e4b15"
down_revision: str | None = "f3c9a2d6b1e8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "attributes",
                DOCUMENT,
                nullable=False,
                server_default="{}",
                comment="Values of the tenant's declared attributes, by name",
            )
        )
        batch_op.add_column(
            sa.Column(
                "version",
                sa.Integer(),
                nullable=False,
                server_default="1",
                comment="Counts the record's changes: its ETag, for optimistic concurrency",
            )
        )
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source",
                sa.String(length=64),
                nullable=True,
                comment="Who gave it: a partner source, 'api' or an import's",
            )
        )
        batch_op.add_column(
            sa.Column(
                "last_seen_at",
                shared.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="Last named by an event or an operator",
            )
        )
    op.execute("UPDATE identity SET source = substr(kind, 5) WHERE kind LIKE 'ref:%'")
    _attribute_definition()
    _consent()


def _attribute_definition() -> None:
    op.create_table(
        "attribute_definition",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "type",
            sa.String(length=16),
            nullable=False,
            comment="string, number, boolean, date or list",
        ),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("personal_data", sa.Boolean(), nullable=False),
        sa.Column(
            "removed_at",
            shared.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="Hidden since; a name keeps its type for good",
        ),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "name"),
        comment="Each tenant's custom attributes: what a customer's attributes may hold.",
    )


def _consent() -> None:
    op.create_table(
        "consent",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column(
            "at",
            shared.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the customer decided",
        ),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("change_id", sa.Uuid(), nullable=False, comment="The change that set it"),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "channel", "purpose"),
        comment="Each customer's current consent per channel and purpose (the latest decision).",
    )
    op.create_table(
        "consent_change",
        sa.Column("change_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("proof", sa.String(length=2000), nullable=True),
        sa.Column("recorded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column(
            "applied",
            sa.Boolean(),
            nullable=False,
            comment="False: older than the state it met",
        ),
        sa.PrimaryKeyConstraint("change_id"),
        comment="Every consent decision ever recorded, with its proof (append-only).",
    )
    op.create_index(
        "ix_consent_change_customer",
        "consent_change",
        ["tenant_id", "customer_id", "at", "change_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_consent_change_customer", table_name="consent_change")
    op.drop_table("consent_change")
    op.drop_table("consent")
    op.drop_table("attribute_definition")
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("source")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("attributes")
