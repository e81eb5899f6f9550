"""The audit log: every decision a person or a partner key takes through the API, recorded
once, with who (the key and its partner), the tenant, what, on what, when, the request id
and the change.

It lives in the gateway's database because the gateway is the one place that sees every
decision together with the key that took it: the services behind it know only a tenant
and, at most, an ``api-key:<id>`` text the gateway wrote for them. Recording is one call,
``record(db, caller, Decision(...))`` (or ``recorded`` after a forwarded answer), so any
new route adds its line. The table is append-only: no code updates or deletes it, and a
trigger refuses UPDATE and DELETE (``shared.tables.append_only_statements``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fastapi import Response
from pydantic_core import to_jsonable_python
from sqlalchemy import Row, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.keys import Principal
from services.gateway.tables import audit_entry
from shared.db import insert_for
from shared.requestid import current_request_id
from shared.uow import Database

ANSWERED = range(200, 300)
# ``Decision.after`` for a decision whose outcome is the service's answer (a sweep's
# counts, a fitted model's summary): recorded as the answer's JSON.
ANSWER = "<the answer>"


@dataclass(frozen=True)
class Decision:
    """What was decided (``action``, e.g. ``api_key.revoked``) on what (``target``, e.g.
    ``api_key:<id>``), the state before and after where they apply; ``tenant`` when the
    operator acts on another tenant's thing; ``dedupe`` names a repeatable request (its
    Idempotency-Key) so that its repeats are recorded once."""

    action: str
    target: str
    before: Any = None
    after: Any = None
    tenant: str | None = None
    dedupe: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def record(db: Database, caller: Principal, decision: Decision) -> None:
    """Record ``decision`` taken by ``caller`` now, in a transaction of its own."""
    async with db.unit_of_work() as uow:
        await write(uow.conn, caller, decision, db.clock.now())
        await uow.commit()


async def write(
    conn: AsyncConnection, caller: Principal, decision: Decision, now: datetime
) -> None:
    """Add the row within the caller's transaction (for a decision the gateway itself
    applies, recorded with it or not at all)."""
    change = {"before": decision.before, "after": decision.after, **decision.extra}
    row = {
        "entry_id": uuid.uuid4(),
        "tenant_id": decision.tenant or caller.tenant_id,
        "at": now,
        "actor_key_id": caller.key_id,
        "actor_partner": caller.partner,
        "action": decision.action,
        "target": decision.target[:300],
        "request_id": current_request_id(),
        "change": to_jsonable_python(change),
        "dedupe_key": decision.dedupe,
    }
    insert = insert_for(conn, audit_entry).values(row)
    await conn.execute(
        insert.on_conflict_do_nothing(index_elements=["tenant_id", "action", "dedupe_key"])
    )


async def recorded(
    db: Database, caller: Principal, answer: Response, decision: Decision
) -> Response:
    """Record ``decision`` if the service that applied it answered 2xx; return the answer.
    A refused request decided nothing."""
    if answer.status_code in ANSWERED:
        if decision.after == ANSWER:
            decision = replace(decision, after=json.loads(bytes(answer.body) or b"null"))
        await record(db, caller, decision)
    return answer


def swept(area: str, all_tenants: bool) -> Decision:
    """A sweep run through the API: its counts, and whether it covered every tenant."""
    return Decision(
        f"{area}.swept", f"sweep:{area}", after=ANSWER, extra={"all_tenants": all_tenants}
    )


@dataclass(frozen=True)
class Query:
    """What ``GET /v1/audit`` asks: a tenant's entries, newest first, filtered."""

    tenant_id: str
    target: str | None = None
    actor: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None
    before: tuple[datetime, uuid.UUID] | None = None


async def entries(conn: AsyncConnection, query: Query, limit: int) -> list[Row[Any]]:
    """Up to ``limit`` entries of ``query``, newest first, after the cursor's position."""
    c = audit_entry.c
    found = select(audit_entry).where(c.tenant_id == query.tenant_id)
    if query.target is not None:
        found = found.where(c.target == query.target)
    if query.actor is not None:
        found = found.where(c.actor_key_id == query.actor)
    if query.start is not None:
        found = found.where(c.at >= query.start)
    if query.end is not None:
        found = found.where(c.at < query.end)
    if query.before is not None:
        at, entry = query.before
        found = found.where(or_(c.at < at, and_(c.at == at, c.entry_id < entry)))
    found = found.order_by(c.at.desc(), c.entry_id.desc()).limit(limit)
    return list(await conn.execute(found))
