"""Customers' names for a page of another service's answer: the gateway adds them to
lifecycle's at-risk list in one batched read, so names (personal data) stay in profile
instead of being copied onto the topics and into every service's tables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from services.profile.tables import customer
from shared.contracts.profile import Names, NamesRequest
from shared.db import keys_in
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(prefix="/v1", tags=["profile"])


@router.post("/profile/names")
async def read_names(runtime: RuntimeDep, tenant: TenantDep, body: NamesRequest) -> Names:
    """The names of up to 500 of the tenant's customers; ids it does not know are left out."""
    c = customer.c
    wanted = {(tenant, customer_id) for customer_id in body.customer_ids}
    if not wanted:
        return Names(names={})
    async with runtime.db.engine.connect() as conn:
        query = select(c.customer_id, c.name).where(
            keys_in(conn, [c.tenant_id, c.customer_id], wanted)
        )
        rows = await conn.execute(query)
        return Names(names={customer_id: name for customer_id, name in rows})
