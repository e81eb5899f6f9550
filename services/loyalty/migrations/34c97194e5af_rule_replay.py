"""rule replay jobs: one row per job, shared by every replica

A rules replay job (``POST /v1/admin/rules/{kind}/replays``) was kept in the memory of
the replica that took it; as a row, any replica answers for it and the database allows
one running job per tenant and kind (a partial unique index).

Revision ID: 34c97194e5af
Revises: a8d3f1c6e247
Create Date: 2026-11-30 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "34c97194e5af"
down_revision: str | None = "a8d3f1c6e247"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
RUNNING = sa.text("state = 'running'")


def upgrade() -> None:
    op.create_table(
        "rule_replay",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False, comment="running, done or failed"),
        sa.Column("progress", sa.String(length=300), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False, comment="api-key:<id>"),
        sa.Column("started_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", shared.db.UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column(
            "diff",
            sa.JSON(),
            nullable=True,
            comment="once done: counts, rule keys, up to 20 customer ids",
        ),
        sa.Column("error", sa.Text(), nullable=True, comment="once failed: why, for a person"),
        sa.PrimaryKeyConstraint("id"),
        comment="Rule-replay jobs: one running per tenant and kind, the newest finished kept.",
    )
    op.create_index(
        "ix_rule_replay_tenant", "rule_replay", ["tenant_id", "kind", "started_at"], unique=False
    )
    op.create_index(
        "ux_rule_replay_running",
        "rule_replay",
        ["tenant_id", "kind"],
        unique=True,
        postgresql_where=RUNNING,
        sqlite_where=RUNNING,
    )


def downgrade() -> None:
    op.drop_index("ux_rule_replay_running", table_name="rule_replay")
    op.drop_index("ix_rule_replay_tenant", table_name="rule_replay")
    op.drop_table("rule_replay")
