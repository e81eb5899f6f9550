"""Segments an analyst defines: saving a rule (checked against the tenant's attributes,
a fault naming its clause), deleting a segment, previewing a rule's size and explaining
a member. Each write is one unit of work; a saved rule makes every customer of the
tenant due, so the sweep evaluates them a batch at a time (never inside the request).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from services.profile import record_store, segment_store, segmenting
from services.profile.segment_eval import explain, holds, longest_window
from services.profile.segment_rules import Clause, Facts, Group, parse
from services.profile.tables import segment, segment_fact, segment_member
from shared.clock import Clock
from shared.events.envelope import derived_id
from shared.uow import Database

PREVIEW_LIMIT = 100_000  # customers a preview reads at most
PREVIEW_PAGE = 1_000
NO_RULE = Group("rule", "all", ())  # a deleted segment's, for its exit announcements
NOBODY = Facts(fields={})  # a customer the fold has not met yet


class NameTaken(ValueError):
    """Another segment of the tenant has this name."""


@dataclass(frozen=True)
class Definition:
    name: str
    description: str
    rule: dict[str, Any]


async def checked_rule(db: Database, tenant: str, rule: Any) -> Clause:
    """The rule parsed against the tenant's attributes (raises ``RuleError``)."""
    async with db.engine.connect() as conn:
        schema = (await record_store.schemas(conn, [tenant]))[tenant]
    return parse(rule, schema)


async def save(
    db: Database, clock: Clock, tenant: str, segment_id: uuid.UUID, wanted: Definition
) -> bool:
    """Create or replace the segment (a checked rule); says whether it existed. Every
    customer of the tenant becomes due, so membership follows the new rule."""
    now = clock.now()
    s = segment.c
    fields = {"name": wanted.name, "description": wanted.description, "rule": wanted.rule}
    async with db.unit_of_work() as uow:
        existing = await uow.conn.scalar(
            select(s.tenant_id).where(s.segment_id == segment_id).with_for_update()
        )
        if existing not in (None, tenant):
            raise LookupError("another tenant's segment")
        try:
            if existing is None:
                row = {"segment_id": segment_id, "tenant_id": tenant, "version": 1}
                await uow.conn.execute(
                    segment.insert().values(**row, **fields, created_at=now, updated_at=now)
                )
            else:
                await uow.conn.execute(
                    update(segment)
                    .where(s.segment_id == segment_id)
                    .values(**fields, version=s.version + 1, updated_at=now)
                )
        except IntegrityError as error:
            raise NameTaken(wanted.name) from error
        await segment_store.schedule_tenant(uow.conn, tenant, now)
        await uow.commit()
    return existing is not None


async def remove(db: Database, clock: Clock, tenant: str, segment_id: uuid.UUID) -> bool:
    """Delete the segment; its members leave it (``segment_exited``, reason
    ``segment_deleted``). False: no such segment of the tenant."""
    now = clock.now()
    s, m = segment.c, segment_member.c
    async with db.unit_of_work() as uow:
        name = await uow.conn.scalar(
            delete(segment)
            .where(s.segment_id == segment_id, s.tenant_id == tenant)
            .returning(s.name)
        )
        if name is None:
            return False
        gone = await uow.conn.execute(
            delete(segment_member).where(m.segment_id == segment_id).returning(m.customer_id)
        )
        saved = segment_store.Saved(segment_id, tenant, name, NO_RULE)
        cause = derived_id(segment_id, f"segment_deleted:{now.isoformat()}")
        uow.publish(
            *(
                segmenting.exited_event(saved, (tenant, customer), now, cause, "segment_deleted")
                for customer in gone.scalars()
            )
        )
        await uow.commit()
    return True


async def preview(db: Database, tenant: str, rule: Clause, now: datetime) -> tuple[int, int, bool]:
    """How many of the tenant's customers (at most ``PREVIEW_LIMIT``) the rule holds
    for now: (size, evaluated, complete)."""
    size = evaluated = 0
    after: uuid.UUID | None = None
    f = segment_fact.c
    async with db.engine.connect() as conn:
        while evaluated < PREVIEW_LIMIT:
            query = select(f.customer_id).where(f.tenant_id == tenant)
            if after is not None:
                query = query.where(f.customer_id > after)
            page = list(await conn.scalars(query.order_by(f.customer_id).limit(PREVIEW_PAGE)))
            if not page:
                return size, evaluated, True
            facts = await segmenting.facts_of(
                conn, [(tenant, c) for c in page], longest_window([rule]), now
            )
            size += sum(1 for known, gone in facts.values() if not gone and holds(rule, known, now))
            evaluated, after = evaluated + len(page), page[-1]
    return size, evaluated, False


async def explained(
    db: Database, tenant: str, segment_id: uuid.UUID, customer_id: uuid.UUID, now: datetime
) -> tuple[bool, bool, list[tuple[str, bool]]] | None:
    """Whether the customer is in the segment, whether its rule holds now, and which
    clauses held; None if the tenant has no such segment."""
    s, m = segment.c, segment_member.c
    async with db.engine.connect() as conn:
        rule = await conn.scalar(
            select(s.rule).where(s.segment_id == segment_id, s.tenant_id == tenant)
        )
        if rule is None:
            return None
        member = await conn.scalar(
            select(m.customer_id).where(m.segment_id == segment_id, m.customer_id == customer_id)
        )
        clause = parse(rule, None)
        key = (tenant, customer_id)
        found = (await segmenting.facts_of(conn, [key], longest_window([clause]), now)).get(key)
    known, gone = found or (NOBODY, False)
    clauses = [(path, held and not gone) for path, held in explain(clause, known, now)]
    return member is not None, clauses[0][1], clauses
