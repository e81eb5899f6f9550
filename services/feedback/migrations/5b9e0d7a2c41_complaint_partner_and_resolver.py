"""a complaint's filing partner, and who resolved it with what resolution

Existing complaints get no partner (NULL): nobody's complaint.resolved event may
resolve them any more, only the service desk route.

Revision ID: 5b9e0d7a2c41
Revises: a690a8565efd
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b9e0d7a2c41"
down_revision: str | None = "a690a8565efd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "partner", sa.String(length=64), nullable=True, comment="the partner that filed it"
            )
        )
        batch_op.add_column(
            sa.Column(
                "resolved_by",
                sa.String(length=80),
                nullable=True,
                comment="desk, or partner:<name>",
            )
        )
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("resolution")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("partner")
