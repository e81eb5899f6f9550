"""Retention on PostgreSQL: the job deletes the raw activity past its tenant's time (a
tenant's own setting, else the installation's), batch after batch, and nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.gateway.app import RETAINED
from services.gateway.tables import ingestion_receipt, outbox
from shared.clock import FrozenClock
from shared.db import create_engine
from shared.migrations import migrate
from shared.retention import Retention, prune
from shared.uow import Database
from tests.integration.services import Infra, create_database, drop_database

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
AGES = (1, 29, 31, 89, 91, 400)  # days


def receipt(tenant: str, age: int) -> dict[str, object]:
    return {
        "tenant_id": tenant, "partner": "pos", "partner_event_id": f"{tenant}-{age}",
        "event_id": uuid.uuid4(), "type": "purchase.completed",
        "received_at": NOW - timedelta(days=age),
    }  # fmt: skip


async def test_the_retention_job_deletes_only_what_is_past_its_tenants_time(
    infra: Infra,
) -> None:
    await create_database(infra, "gateway")
    engine = create_engine(infra.database_url("gateway"))
    try:
        await migrate(engine, "gateway")
        tenants = ("acme", "brand", "other")
        async with engine.begin() as conn:
            await conn.execute(
                ingestion_receipt.insert(), [receipt(t, a) for t in tenants for a in AGES]
            )
        db = Database(engine, outbox, FrozenClock(NOW))
        retention = Retention(default=90, by_tenant={"acme": 30, "brand": 3650})
        swept = await prune(db, RETAINED, retention, limit=2)  # small batches: it drains
        async with engine.connect() as conn:
            left = {
                (r.tenant_id, (NOW - r.received_at).days)
                for r in await conn.execute(select(ingestion_receipt))
            }
    finally:
        await engine.dispose()
        await drop_database(infra, "gateway")
    assert left == {
        *(("acme", a) for a in (1, 29)),
        *(("brand", a) for a in AGES),
        *(("other", a) for a in (1, 29, 31, 89)),
    }
    assert swept.counts == {"ingestion_receipt": 4 + 2}
