"""customer value and win-backs in the 360

The 360 keeps the value class, lifetime value and its currency lifecycle announces
(crm.lifecycle.value_class_changed.v1), and counts the win-backs its stage changes
mark (``reactivation``). Existing rows start unvalued and at zero win-backs; a
rebuild from the topics fills them.

Revision ID: 5d2c8e1f4b37
Revises: 1c42827c8d78
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d2c8e1f4b37"
down_revision: str | None = "1c42827c8d78"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_view", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value_class", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("clv_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("value_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(
            sa.Column("reactivations", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_view", schema=None) as batch_op:
        batch_op.drop_column("reactivations")
        batch_op.drop_column("value_currency")
        batch_op.drop_column("clv_minor")
        batch_op.drop_column("value_class")
