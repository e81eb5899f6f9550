"""an order's state: a free order is a purchase

Until now an order counted when its refunds were below its amount, so a free order
(amount 0) never counted. Existing rows get the state their amounts meant, except that
an order of amount 0 with no refund is a free order that counts from now on; one with
a refund and amount 0 is a refund still waiting for its order.

Revision ID: 3e8d51a0c7b2
Revises: ccbc3ff256dd
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e8d51a0c7b2"
down_revision: str | None = "ccbc3ff256dd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lifecycle_purchase", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sa.String(length=16),
                server_default="bought",
                nullable=False,
                comment="bought, refunded (in full), awaiting (a refund came before its order)",
            )
        )
    op.execute(
        "UPDATE lifecycle_purchase SET state = 'awaiting' "
        "WHERE amount_minor = 0 AND refunded_minor > 0"
    )
    op.execute(
        "UPDATE lifecycle_purchase SET state = 'refunded' "
        "WHERE amount_minor > 0 AND refunded_minor >= amount_minor"
    )


def downgrade() -> None:
    with op.batch_alter_table("lifecycle_purchase", schema=None) as batch_op:
        batch_op.drop_column("state")
