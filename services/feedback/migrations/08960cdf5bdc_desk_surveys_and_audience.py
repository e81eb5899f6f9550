"""the service desk, survey definitions and the audience

Complaints get the desk's fields (assignee, first contact, closing, reopenings, the
compensation and the key that resolved it, the answer a recovery case follows) and a
longer status (``waiting_on_customer``); agents' notes get a table. Tenants' survey
definitions, the consent and stage feedback folds, and each customer's last
invitation get theirs; every customer with an invitation gets a ``respondent`` row
(the sweep's lock), so invitations scheduled before this revision are sent as before.

Revision ID: 08960cdf5bdc
Revises: 5b9e0d7a2c41
Create Date: 2026-11-30 01:09:02.735943
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "08960cdf5bdc"
down_revision: str | None = "5b9e0d7a2c41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_note",
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column(
            "author", sa.String(length=80), nullable=True, comment="the API key that wrote it"
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("note_id"),
        comment="Agents' internal notes on a complaint, never shown to the customer.",
    )
    with op.batch_alter_table("complaint_note", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_note", ["complaint_id", "at"], unique=False)

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
            comment="when the customer decided",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "channel", "purpose"),
        comment="Each customer's latest consent decision per channel and purpose (from profile).",
    )
    op.create_table(
        "respondent",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=True),
        sa.Column("stage_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_invited_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
    )
    op.create_table(
        "survey_definition",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("survey", sa.String(length=8), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "survey"),
        comment="A tenant's own surveys; a tenant without rows has feedback.toml's defaults.",
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "assignee",
                sa.String(length=128),
                nullable=True,
                comment="the desk agent working it",
            )
        )
        batch_op.add_column(
            sa.Column(
                "first_contact_at",
                shared.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="when the desk first took it up",
            )
        )
        batch_op.add_column(
            sa.Column("closed_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("reopened", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("compensation_points", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "resolver",
                sa.String(length=80),
                nullable=True,
                comment="the API key that resolved it at the desk",
            )
        )
        batch_op.add_column(
            sa.Column(
                "response_id",
                sa.Uuid(),
                nullable=True,
                comment="the detractor's answer a recovery case follows",
            )
        )
        batch_op.alter_column(
            "status",
            existing_type=sa.VARCHAR(length=16),
            type_=sa.String(length=24),
            existing_nullable=False,
        )
        batch_op.create_index(
            "ix_complaint_desk", ["tenant_id", "due_at", "complaint_id"], unique=False
        )

    with op.batch_alter_table("survey_invitation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("occasion", sa.String(length=24), server_default="purchase", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "occasion_ref",
                sa.String(length=128),
                nullable=True,
                comment="the order, complaint or stage; a chain's link",
            )
        )
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "suppressed", sa.String(length=24), nullable=True, comment="why it was not sent"
            )
        )

    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("invitation_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_survey_response_tenant", ["tenant_id", "responded_at"], unique=False
        )

    op.execute(
        "INSERT INTO respondent (tenant_id, customer_id, last_invited_at) "
        "SELECT tenant_id, customer_id, MAX(invited_at) FROM survey_invitation "
        "GROUP BY tenant_id, customer_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_response_tenant")
        batch_op.drop_column("invitation_id")
        batch_op.drop_column("channel")

    with op.batch_alter_table("survey_invitation", schema=None) as batch_op:
        batch_op.drop_column("suppressed")
        batch_op.drop_column("channel")
        batch_op.drop_column("occasion_ref")
        batch_op.drop_column("occasion")

    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_desk")
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=24),
            type_=sa.VARCHAR(length=16),
            existing_nullable=False,
        )
        batch_op.drop_column("response_id")
        batch_op.drop_column("resolver")
        batch_op.drop_column("compensation_points")
        batch_op.drop_column("reopened")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("first_contact_at")
        batch_op.drop_column("assignee")

    op.drop_table("survey_definition")
    op.drop_table("respondent")
    op.drop_table("consent")
    with op.batch_alter_table("complaint_note", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_note")

    op.drop_table("complaint_note")
