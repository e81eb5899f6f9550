"""Rules per tenant, stored in the service's own database and versioned: a tenant's admin
sets a whole rule file through the API; a tenant without one uses the installation's.

Every version is kept (``tenant_rules``, one row per change, the version counting up
across the database). A replica keeps the parsed rules in memory with the highest
version it has read, and asks for that number once per batch (an index-only
``max``), so a change reaches every replica within one batch, without a restart and
without a query per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy import Column, Index, MetaData, String, Table, Text, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.config import RuleFileError
from shared.db import BigIntId, UTCDateTime, is_postgres
from shared.uow import Database

R = TypeVar("R")
log = structlog.get_logger()
_RULES_LOCK = 0x0C2B_0012


def rules_table(metadata: MetaData) -> Table:
    """Add ``tenant_rules`` to a service's metadata and return it."""
    return Table(
        "tenant_rules",
        metadata,
        Column("version", BigIntId, primary_key=True, autoincrement=False),
        Column("tenant_id", String(64), nullable=False),
        Column("rules", Text, nullable=False, comment="the TOML text, as validated"),
        Column("created_at", UTCDateTime, nullable=False),
        Column("created_by", String(100), nullable=False, comment="api-key:<id>"),
        Index("ix_tenant_rules_tenant", "tenant_id", "version"),
        comment="Every version of each tenant's rules; the highest of a tenant is in force.",
    )


@dataclass(frozen=True)
class Stored:
    """A tenant's rules as stored: the version in force and its text."""

    version: int
    rules: str
    created_at: datetime
    created_by: str


class Rulebook(Generic[R]):
    """The rules of each tenant, parsed, kept current by ``refresh``.

    ``parse(text, origin)`` validates a text as the file is at start (raising the
    service's ``RuleFileError`` naming the kind of rules, ``origin`` and each problem)."""

    def __init__(
        self,
        table: Table,
        installation: R,
        installation_text: str,
        parse: Callable[[str, str], R],
    ) -> None:
        self.table, self.installation, self.installation_text = (
            table,
            installation,
            installation_text,
        )
        self._parse = parse
        self._by_tenant: dict[str, R] = {}
        self._version = 0

    def of(self, tenant: str) -> R:
        """The rules in force for ``tenant`` as of the last refresh."""
        return self._by_tenant.get(tenant, self.installation)

    async def refresh(self, conn: AsyncConnection) -> None:
        """Reload if any tenant's rules changed since the last look: one cheap query."""
        newest = (await conn.execute(select(func.max(self.table.c.version)))).scalar() or 0
        if newest == self._version:
            return
        t = self.table
        latest = select(t.c.tenant_id, func.max(t.c.version).label("v")).group_by(t.c.tenant_id)
        current = latest.subquery()
        rows = await conn.execute(
            select(t.c.tenant_id, t.c.rules).join(current, t.c.version == current.c.v)
        )
        for row in rows:
            try:
                self._by_tenant[row.tenant_id] = self._parse(row.rules, self._origin(row.tenant_id))
            except RuleFileError as failure:  # a release that reads rules differently
                log.error(
                    "tenant rules unusable; previous kept", tenant=row.tenant_id, error=str(failure)
                )
        self._version = newest

    async def current(self, engine: AsyncEngine, tenant: str) -> R:
        """The tenant's rules, refreshed first (for a request, outside any batch)."""
        async with engine.connect() as conn:
            await self.refresh(conn)
        return self.of(tenant)

    def validate(self, tenant: str, rules: str) -> R:
        """Parse a tenant's new text (``RuleFileError`` names each problem)."""
        return self._parse(rules, self._origin(tenant))

    def try_installation(self, rules: str) -> None:
        """Put ``rules`` in place of the installation's file in this book only (a replay's
        shadow tries a new file on history); ``RuleFileError`` names each problem."""
        self.installation = self._parse(rules, "of the installation (candidate)")
        self.installation_text = rules

    async def in_force_text(self, conn: AsyncConnection, tenant: str | None) -> str:
        """The text of the rules in force for ``tenant`` (None: the installation's)."""
        stored = None if tenant is None else await self.stored(conn, tenant)
        return self.installation_text if stored is None else stored.rules

    async def stored(self, conn: AsyncConnection, tenant: str) -> Stored | None:
        """The tenant's rules in force, if it has its own."""
        t = self.table
        row = (
            await conn.execute(
                select(t).where(t.c.tenant_id == tenant).order_by(t.c.version.desc()).limit(1)
            )
        ).first()
        return (
            None if row is None else Stored(row.version, row.rules, row.created_at, row.created_by)
        )

    async def store(self, db: Database, tenant: str, rules: str, by: str) -> tuple[Stored, int]:
        """Validate and keep a new version of the tenant's rules; it and the previous
        version in force (0: the installation's file). ``RuleFileError`` if invalid:
        nothing is stored and the rules in force stay."""
        self.validate(tenant, rules)
        now = db.clock.now()
        async with db.unit_of_work() as uow:
            if is_postgres(uow.conn):  # versions count up one at a time, whoever writes
                await uow.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _RULES_LOCK})
            previous = await self.stored(uow.conn, tenant)
            top = (await uow.conn.execute(select(func.max(self.table.c.version)))).scalar() or 0
            row: dict[str, Any] = {
                "version": top + 1, "tenant_id": tenant, "rules": rules,
                "created_at": now, "created_by": by,
            }  # fmt: skip
            await uow.conn.execute(self.table.insert(), [row])
            await uow.commit()
        return Stored(top + 1, rules, now, by), previous.version if previous else 0

    def _origin(self, tenant: str) -> str:
        return f"of tenant {tenant}"
