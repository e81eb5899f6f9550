"""How a service takes part in an erasure (mechanism only; what to erase is the
service's own ``privacy`` module).

Each service reads ``crm.profile.customer_erased.v1`` in a consumer group of its own
(``<service>-erasure``), so an erasure never waits behind another group's backlog and
never slows the hot path: crm.profile carries few events. In the unit of work that
erases, the service writes its confirmation to its outbox: the erasure and its
confirmation commit together, or neither does."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import topics
from shared.clock import Clock
from shared.events.envelope import caused_event
from shared.events.privacy import CONFIRMATIONS, CustomerErased
from shared.problems import Problem
from shared.runtime import TenantDep, get_runtime
from shared.subscription import Received, Subscription
from shared.uow import UnitOfWork

# What a service erases of the customers of one tenant; answers rows touched, by table.
Eraser = Callable[[AsyncConnection, str, list[uuid.UUID]], Awaitable[dict[str, int]]]
# What a service holds about one customer of a tenant: its rows, by table.
Exporter = Callable[[AsyncConnection, str, uuid.UUID], Awaitable[dict[str, list[dict[str, Any]]]]]


def erased_customers(erased: CustomerErased) -> list[uuid.UUID]:
    """The customer an erasure names and every customer merged into it."""
    return [uuid.UUID(erased.customer_id), *(uuid.UUID(m) for m in erased.merged_ids)]


def erasure_subscription(service: str, erase: Eraser, clock: Clock) -> Subscription:
    """The consumer group through which ``service`` erases customers and confirms."""

    async def handler(uow: UnitOfWork, batch: Sequence[Received[CustomerErased]]) -> None:
        await confirm_erasures(uow, batch, service, erase, clock)

    return Subscription(
        group=f"{service}-erasure",
        topics=(topics.PROFILE,),
        applies=(CustomerErased,),
        handler=handler,
    )


async def confirm_erasures(
    uow: UnitOfWork,
    batch: Sequence[Received[CustomerErased]],
    service: str,
    erase: Eraser,
    clock: Clock,
) -> None:
    """Erase each erasure's customers and announce the confirmation on the service's topic."""
    confirmed = CONFIRMATIONS[service]
    for received in batch:
        erasure = received.payload
        removed = await erase(uow.conn, received.event.tenantid, erased_customers(erasure))
        uow.publish(
            caused_event(
                confirmed(
                    erasure_id=erasure.erasure_id,
                    customer_id=erasure.customer_id,
                    service=service,
                    erased_at=clock.now(),
                    removed={table: n for table, n in removed.items() if n},
                ),
                received.event,
                source=f"/crm/{service}",
                # one id per service: profile's inbox would take the others for repeats
                purpose=f"erasure_confirmed:{service}",
            )
        )


async def delete_rows(
    conn: AsyncConnection, table: Table, tenant_id: str, customers: Iterable[uuid.UUID]
) -> int:
    """Delete a tenant's rows of ``table`` about these customers; how many went."""
    c = table.c
    result = await conn.execute(
        delete(table).where(c.tenant_id == tenant_id, c.customer_id.in_(list(customers)))
    )
    return result.rowcount or 0


async def rows_of(
    conn: AsyncConnection, table: Table, tenant_id: str, customer_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Every row of ``table`` about the customer, as JSON-ready mappings."""
    c = table.c
    rows = await conn.execute(
        select(table).where(c.tenant_id == tenant_id, c.customer_id == customer_id)
    )
    return [dict(r) for r in rows.mappings()]


def export_router(service: str, export: Exporter, must_hold: str | None = None) -> APIRouter:
    """``GET /v1/customers/{id}/privacy-export``: what ``service`` holds about the
    customer, for the gateway's export job (which gathers every service's); a 404 when
    it holds no row of ``must_hold`` about them (the service that knows every customer)."""
    router = APIRouter(tags=["privacy"])

    @router.get("/v1/customers/{customer_id}/privacy-export")
    async def privacy_export(
        request: Request, tenant: TenantDep, customer_id: uuid.UUID
    ) -> dict[str, Any]:
        """Every row this service holds about the customer, by table."""
        runtime = get_runtime(request)
        async with runtime.db.engine.connect() as conn:
            held = await export(conn, tenant, customer_id)
        if must_hold is not None and not held[must_hold]:
            raise Problem(404, "customer-not-found", f"No customer {customer_id} in this tenant.")
        return {"service": service, "tables": jsonable_encoder(held)}

    return router
