"""Profile's read side: the queries behind the customer endpoints."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.profile import domain
from services.profile.tables import customer, identity
from services.profile.tables import customer_view as view


async def find_by_reference(
    engine: AsyncEngine, tenant_id: str, source: str, external_id: str
) -> uuid.UUID | None:
    """The customer a partner system knows as ``external_id``, if any."""
    async with engine.connect() as conn:
        return await conn.scalar(
            select(identity.c.customer_id).where(
                identity.c.tenant_id == tenant_id,
                identity.c.kind == f"ref:{source}",
                identity.c.value == external_id,
            )
        )


async def customer_360(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, Any] | None:
    """The customer and their 360 row, or None (also for another tenant's customer).

    A customer whose first events have not been folded yet (or whose 360 is being
    rebuilt) reads as a 360 nobody has said anything about."""
    query = (
        select(
            customer.c.name,
            customer.c.email,
            customer.c.phone,
            customer.c.created_at.label("customer_created_at"),
            view,
        )
        .outerjoin(
            view,
            (view.c.tenant_id == customer.c.tenant_id)
            & (view.c.customer_id == customer.c.customer_id),
        )
        .where(customer.c.tenant_id == tenant_id, customer.c.customer_id == customer_id)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    contact = {k: found.pop(k) for k in ("name", "email", "phone")}
    created_at = found.pop("customer_created_at")
    if found["customer_id"] is None:  # no 360 row yet
        found = domain.new_view(tenant_id, customer_id, created_at)
    return {**found, **contact}
