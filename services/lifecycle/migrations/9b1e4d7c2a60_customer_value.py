"""customer value: spend model, CLV and value classes

Orders keep their currency (spend is fitted per currency); each customer keeps their
lifetime value, value at risk and value class beside the churn risk; the Gamma-Gamma
fits and the value classes' floors get their tables. Existing orders have no
currency: they count as purchase occasions but not as spend until new orders come.

Revision ID: 9b1e4d7c2a60
Revises: 3e8d51a0c7b2
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import BigIntId, UTCDateTime

revision: str = "9b1e4d7c2a60"
down_revision: str | None = "3e8d51a0c7b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VALUE_COLUMNS = (
    ("value_currency", sa.String(length=3)),
    ("expected_purchases", sa.Float()),
    ("expected_spend_minor", sa.Float()),
    ("clv_minor", sa.BigInteger()),
    ("value_at_risk_minor", sa.BigInteger()),
    ("value_class", sa.String(length=16)),
    ("value_announced_class", sa.String(length=16)),
)


def upgrade() -> None:
    with op.batch_alter_table("lifecycle_purchase", schema=None) as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
    with op.batch_alter_table("customer_state", schema=None) as batch_op:
        for name, kind in _VALUE_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_index(
            "ix_customer_state_value_at_risk",
            ["tenant_id", "risk_level", "value_at_risk_minor"],
            unique=False,
        )
        batch_op.create_index("ix_customer_state_risk_at", ["tenant_id", "risk_at"], unique=False)
    op.create_table(
        "lifecycle_spend_model",
        sa.Column("id", BigIntId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("p", sa.Float(), nullable=False),
        sa.Column("q", sa.Float(), nullable=False),
        sa.Column("v", sa.Float(), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("log_likelihood", sa.Float(), nullable=False),
        sa.Column("fitted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_lifecycle_spend_model_tenant",
        "lifecycle_spend_model",
        ["tenant_id", "currency", "fitted_at"],
        unique=False,
    )
    op.create_table(
        "lifecycle_value_cutoffs",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("floors", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "currency"),
    )


def downgrade() -> None:
    op.drop_table("lifecycle_value_cutoffs")
    op.drop_index("ix_lifecycle_spend_model_tenant", table_name="lifecycle_spend_model")
    op.drop_table("lifecycle_spend_model")
    with op.batch_alter_table("customer_state", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_state_risk_at")
        batch_op.drop_index("ix_customer_state_value_at_risk")
        for name, _ in reversed(_VALUE_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("lifecycle_purchase", schema=None) as batch_op:
        batch_op.drop_column("currency")
