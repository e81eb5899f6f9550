"""Retention: raw activity past its tenant's time is deleted by a due-time job.

The same pattern as every sweep (``shared.sweeps``): rows past their time are taken a
batch at a time (under ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas never
wait on each other) and deleted in a short transaction, batch after batch until none
is due. How long is a setting: ``activity_retention_days`` for every tenant,
``activity_retention_days_by_tenant`` in its place for some; unset keeps for good.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, and_, delete, false, or_, select, tuple_

from shared import sweeps
from shared.db import is_postgres
from shared.jobs import Periodic
from shared.settings import ServiceSettings
from shared.sweeps import Swept, drain
from shared.uow import Database


@dataclass(frozen=True)
class Kept:
    """A table of raw activity, its tenant column and the instant its rows age from."""

    table: Table
    at: Column[Any]

    @property
    def tenant(self) -> Column[Any]:
        return self.table.c.tenant_id


@dataclass(frozen=True)
class Retention:
    """Days kept: ``by_tenant`` for some tenants, ``default`` for the others (None: all)."""

    default: int | None = None
    by_tenant: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: ServiceSettings) -> Retention:
        return cls(settings.activity_retention_days, settings.activity_retention_days_by_tenant)

    def expired(self, kept: Kept, now: datetime) -> ColumnElement[bool]:
        """Which rows of ``kept`` are past their tenant's time at ``now``."""
        past = [
            and_(kept.tenant == tenant, kept.at < now - timedelta(days=days))
            for tenant, days in sorted(self.by_tenant.items())
        ]
        if self.default is not None:
            others = kept.tenant.not_in(sorted(self.by_tenant)) if self.by_tenant else None
            old = kept.at < now - timedelta(days=self.default)
            past.append(old if others is None else and_(others, old))
        return or_(*past) if past else false()

    @property
    def anything(self) -> bool:
        return self.default is not None or bool(self.by_tenant)


async def prune_batch(db: Database, kept: Kept, retention: Retention, limit: int) -> Swept:
    """Delete up to ``limit`` rows of ``kept`` past their time, in one transaction."""
    keys = list(kept.table.primary_key.columns)
    async with db.unit_of_work() as uow:
        chosen = select(*keys).where(retention.expired(kept, db.clock.now())).limit(limit)
        if is_postgres(uow.conn):
            chosen = chosen.with_for_update(skip_locked=True)
        rows = [tuple(r) for r in await uow.conn.execute(chosen)]
        if rows:
            await uow.conn.execute(delete(kept.table).where(tuple_(*keys).in_(rows)))
        await uow.commit()
    return Swept({kept.table.name: len(rows)}, more=len(rows) == limit)


async def prune(
    db: Database, tables: Sequence[Kept], retention: Retention, limit: int = 1000
) -> Swept:
    """Everything past its time in every table of ``tables``."""
    total = Swept()
    for kept in tables:
        total += await drain(partial(prune_batch, db, kept, retention, limit))
    return total


def retention_job(
    name: str, db: Database, settings: ServiceSettings, tables: Sequence[Kept]
) -> Periodic:
    """The service's background retention pass (idle when nothing is configured)."""
    retention = Retention.of(settings)

    async def once() -> Swept:
        return await prune(db, tables, retention) if retention.anything else Swept()

    return sweeps.periodic(f"{name}-retention", settings.retention_sweep_seconds, once)
