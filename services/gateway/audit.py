"""The audit log: every decision a person or a partner key takes through the API, recorded
once, with who (the key and its partner), the tenant, what, on what, when, the request id
and the change.

It lives in the gateway's database because the gateway is the one place that sees every
decision together with the key that took it: the services behind it know only a tenant
and, at most, an ``api-key:<id>`` text the gateway wrote for them. Recording is one call,
``record(db, caller, Decision(...))`` for what the gateway applies itself, ``forwarded``
(or ``asking``) for what a service applies, so any new route adds its line. The table is
append-only: no code updates or deletes it, and a trigger refuses UPDATE and DELETE
(``shared.tables.append_only_statements``).

A forwarded decision is noted (``audit_pending``) before the gateway asks the service,
and the note is replaced by the entry, in one transaction, when the service answers 2xx
(dropped when it refuses, or when the request never reached it). So a gateway that stops
between the service applying a decision and the entry being written loses nothing: what
it left is recorded by ``settle_unanswered`` with ``"outcome": "unanswered"`` (the
service may or may not have applied it) once no request can still be waiting for it.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import Response
from pydantic_core import to_jsonable_python
from sqlalchemy import Row, and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.keys import Principal
from services.gateway.tables import audit_entry, audit_pending
from shared.db import insert_for
from shared.problems import Problem
from shared.requestid import current_request_id
from shared.uow import Database

ANSWERED = range(200, 300)
# ``Decision.after`` for a decision whose outcome is the service's answer (a sweep's
# counts, a fitted model's summary): recorded as the answer's JSON.
ANSWER = "<the answer>"
UNANSWERED = {"outcome": "unanswered"}
SETTLE_BATCH = 500


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
    conn: AsyncConnection,
    caller: Principal,
    decision: Decision,
    now: datetime,
    entry_id: uuid.UUID | None = None,
) -> None:
    """Add the row within the caller's transaction (for a decision the gateway itself
    applies, recorded with it or not at all)."""
    row = _row(caller, decision, now, entry_id or uuid.uuid4()) | {"dedupe_key": decision.dedupe}
    insert = insert_for(conn, audit_entry).values(row)
    await conn.execute(
        insert.on_conflict_do_nothing(index_elements=["tenant_id", "action", "dedupe_key"])
    )


def _row(
    caller: Principal, decision: Decision, now: datetime, entry_id: uuid.UUID
) -> dict[str, Any]:
    after = None if decision.after == ANSWER else decision.after
    change = {"before": decision.before, "after": after, **decision.extra}
    return {
        "entry_id": entry_id,
        "tenant_id": decision.tenant or caller.tenant_id,
        "at": now,
        "actor_key_id": caller.key_id,
        "actor_partner": caller.partner,
        "action": decision.action,
        "target": decision.target[:300],
        "request_id": current_request_id(),
        "change": to_jsonable_python(change),
    }


@dataclass
class Asking:
    """A forwarded decision the gateway noted before asking; ``recorded`` settles it."""

    db: Database
    caller: Principal
    entry_id: uuid.UUID
    settled: bool = False

    async def recorded(self, answer: Response, decision: Decision) -> Response:
        """Replace the note by ``decision``'s entry if the service answered 2xx (a refusal
        decided nothing); return the answer."""
        if answer.status_code not in ANSWERED:
            await self.drop()
            return answer
        if decision.after == ANSWER:
            decision = replace(decision, after=json.loads(bytes(answer.body) or b"null"))
        await self._settle(decision)
        return answer

    async def drop(self) -> None:
        """Forget the note: nothing was decided."""
        await self._settle(None)

    async def _settle(self, decision: Decision | None) -> None:
        """Remove the note and write ``decision``'s entry (if any) in one transaction; a
        note ``settle_unanswered`` took meanwhile is recorded already."""
        async with self.db.unit_of_work() as uow:
            noted = await uow.conn.execute(
                delete(audit_pending).where(audit_pending.c.entry_id == self.entry_id)
            )
            if noted.rowcount and decision is not None:
                await write(uow.conn, self.caller, decision, self.db.clock.now(), self.entry_id)
            await uow.commit()
        self.settled = True


@contextlib.asynccontextmanager
async def asking(db: Database, caller: Principal, decision: Decision) -> AsyncIterator[Asking]:
    """Note ``decision`` (what is known of it before the answer) as asked, for the block
    that forwards it and calls ``Asking.recorded``. Leaving the block without recording
    drops the note (nothing was decided), and so does a request that never reached the
    service; any other failure (no answer in time, the request cut short) leaves it to
    ``settle_unanswered``: the service may have applied it."""
    ask = Asking(db, caller, uuid.uuid4())
    async with db.unit_of_work() as uow:
        await uow.conn.execute(
            insert(audit_pending).values(_row(caller, decision, db.clock.now(), ask.entry_id))
        )
        await uow.commit()
    try:
        yield ask
    except Problem as problem:
        if isinstance(problem.__cause__, httpx.ConnectError):
            await ask.drop()
        raise
    if not ask.settled:
        await ask.drop()


async def forwarded(
    db: Database,
    caller: Principal,
    decision: Decision,
    forward: Callable[[], Awaitable[Response]],
) -> Response:
    """Forward ``decision`` to the service that applies it (``forward``) and record it
    if that service answered 2xx; return the answer. Recorded once even if the gateway
    stops in between (see the module's note)."""
    async with asking(db, caller, decision) as ask:
        return await ask.recorded(await forward(), decision)


def unanswered_after(upstream_timeout_seconds: float) -> timedelta:
    """How old a note must be before no request can still be waiting for its answer."""
    return timedelta(seconds=max(60.0, 4 * upstream_timeout_seconds))


async def settle_unanswered(db: Database, after: timedelta) -> int:
    """Record the notes older than ``after`` (their gateway stopped before the answer,
    or the service never gave one) as entries with ``"outcome": "unanswered"``; how many."""
    settled, cutoff = 0, db.clock.now() - after
    p = audit_pending.c
    while True:
        async with db.unit_of_work() as uow:
            due = select(audit_pending).where(p.at < cutoff).order_by(p.at).limit(SETTLE_BATCH)
            found = (await uow.conn.execute(due.with_for_update(skip_locked=True))).mappings()
            rows = [dict(row) for row in found]
            if rows:
                entries = [row | {"change": row["change"] | UNANSWERED} for row in rows]
                await uow.conn.execute(insert(audit_entry), entries)
                ids = [row["entry_id"] for row in rows]
                await uow.conn.execute(delete(audit_pending).where(p.entry_id.in_(ids)))
            await uow.commit()
        settled += len(rows)
        if len(rows) < SETTLE_BATCH:
            return settled


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
