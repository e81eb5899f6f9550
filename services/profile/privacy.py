"""Data-protection requests in profile, which starts every erasure and holds its job.

Erasing a customer here deletes, in one unit of work, everything profile holds that
names the person: the keys its personal fields on the topics are sealed with
(``subject_keys``: crypto-shredding), the record (name, e-mail, phone, attributes),
every identity, consent and its history (proofs are free text), merges and merge
candidates (a merge keeps the identities it moved), the 360 and what waits to be
folded into it. The customers merged into it are the same person and go with it. The
same unit of work records the job and publishes ``crm.profile.customer_erased.v1``; each
other service confirms on its own topic, and the 360's consumer folds the confirmations
into the job.

Once the record is gone every read of the customer is a 404, and a rebuild of the 360
from the topics folds only amounts, stages and points under an id nothing names."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.profile import subject_keys
from services.profile.announcements import SOURCE
from services.profile.tables import (
    consent,
    consent_change,
    customer,
    customer_merge,
    customer_view,
    erasure,
    identity,
    merge_candidate,
    parked,
    segment_activity,
    segment_due,
    segment_fact,
    segment_member,
    view_order,
)
from shared.contracts.privacy import Confirmation, ErasureJob
from shared.erasure import delete_rows, rows_of
from shared.events import CloudEvent, new_event
from shared.events.envelope import derived_id
from shared.events.privacy import CONFIRMING, CustomerErased, ErasureConfirmed
from shared.subscription import Received
from shared.uow import Database, UnitOfWork

MAX_MERGE_DEPTH = 50
PROFILE = "profile"
# Profile's own rows about a customer, erased by customer id (the segments' facts hold
# attributes and activity properties, which may be personal).
ERASED = (
    customer,
    identity,
    consent,
    consent_change,
    customer_view,
    view_order,
    parked,
    segment_member,
    segment_fact,
    segment_activity,
    segment_due,
)


class CustomerNotFound(LookupError):
    """No such customer in this tenant (or erased already)."""


async def erase(
    db: Database, tenant_id: str, customer_id: uuid.UUID, reason: str, requested_by: str | None
) -> ErasureJob:
    """Erase the customer (its survivor's whole person, if it was merged) and start the
    job the other services confirm. Raises ``CustomerNotFound``."""
    now = db.clock.now()
    async with db.unit_of_work() as uow:
        person = await _person(uow.conn, tenant_id, customer_id)
        live, merged = person[0], person[1:]
        await subject_keys.destroy(uow.conn, tenant_id, person)  # before their identities
        for table in ERASED:
            await delete_rows(uow.conn, table, tenant_id, person)
        await _forget_merges(uow.conn, tenant_id, person)
        row = {
            "erasure_id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "customer_id": live,
            "merged_ids": [str(m) for m in merged],
            "reason": reason,
            "requested_by": requested_by,
            "requested_at": now,
            "confirmations": {PROFILE: now.isoformat()},
            "completed_at": None,
        }
        await uow.conn.execute(erasure.insert().values(row))
        uow.publish(_announcement(row))
        await uow.commit()
    return _job(row)


async def _person(conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID) -> list[uuid.UUID]:
    """The live customer (a merged one's final survivor) first, then every customer
    merged into it, however deep: their rows locked ``FOR UPDATE`` (a no-op on SQLite),
    so that no key is made for them meanwhile (``subject_keys.for_customers``)."""
    c = customer.c
    live = customer_id
    for _ in range(MAX_MERGE_DEPTH):
        row = (
            await conn.execute(
                select(c.merged_into)
                .where(c.tenant_id == tenant_id, c.customer_id == live)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise CustomerNotFound(customer_id)
        if row.merged_into is None:
            break
        live = row.merged_into
    person, frontier = [live], [live]
    for _ in range(MAX_MERGE_DEPTH):
        found = await conn.scalars(
            select(c.customer_id)
            .where(c.tenant_id == tenant_id, c.merged_into.in_(frontier))
            .with_for_update()
        )
        frontier = [f for f in found if f not in person]
        if not frontier:
            break
        person.extend(frontier)
    return person


async def _forget_merges(conn: AsyncConnection, tenant_id: str, person: list[uuid.UUID]) -> None:
    """Merges and candidates that name any of them (a merge keeps the identities it moved)."""
    for table in (customer_merge, merge_candidate):
        c = table.c
        await conn.execute(
            delete(table).where(
                c.tenant_id == tenant_id,
                or_(c.survivor_id.in_(person), c.merged_id.in_(person)),
            )
        )


def _announcement(row: dict[str, Any]) -> CloudEvent:
    subject = str(row["customer_id"])
    return new_event(
        CustomerErased(
            erasure_id=str(row["erasure_id"]),
            customer_id=subject,
            merged_ids=row["merged_ids"],
            reason=row["reason"],
            requested_at=row["requested_at"],
            requested_by=row["requested_by"],
        ),
        source=SOURCE,
        tenant_id=row["tenant_id"],
        key=subject,
        subject=subject,
        time=row["requested_at"],
        event_id=derived_id(row["erasure_id"], "customer_erased"),
    )


async def fold_confirmations(
    uow: UnitOfWork, confirmations: Sequence[Received[ErasureConfirmed]]
) -> None:
    """Record each service's confirmation in its job (a repeat, as in a rebuild of the
    360, changes nothing); the job completes with the last one."""
    e = erasure.c
    for received in confirmations:
        confirmed = received.payload
        erasure_id = uuid.UUID(confirmed.erasure_id)
        row = (
            (await uow.conn.execute(select(erasure).where(e.erasure_id == erasure_id)))
            .mappings()
            .first()
        )
        if row is None or confirmed.service in row["confirmations"]:
            continue
        done = {**row["confirmations"], confirmed.service: confirmed.erased_at.isoformat()}
        complete = all(s in done for s in (PROFILE, *CONFIRMING))
        latest = max(datetime.fromisoformat(at) for at in done.values()) if complete else None
        await uow.conn.execute(
            update(erasure)
            .where(e.erasure_id == erasure_id)
            .values(confirmations=done, completed_at=latest)
        )


async def job(engine: AsyncEngine, tenant_id: str, erasure_id: uuid.UUID) -> ErasureJob | None:
    """The erasure's job, or None (also for another tenant's)."""
    e = erasure.c
    async with engine.connect() as conn:
        query = select(erasure).where(e.erasure_id == erasure_id, e.tenant_id == tenant_id)
        row = (await conn.execute(query)).mappings().first()
    return None if row is None else _job(dict(row))


def _job(row: dict[str, Any]) -> ErasureJob:
    done: dict[str, str] = row["confirmations"]
    completed: datetime | None = row["completed_at"]
    return ErasureJob(
        erasure_id=row["erasure_id"],
        customer_id=row["customer_id"],
        merged_ids=[uuid.UUID(m) for m in row["merged_ids"]],
        reason=row["reason"],
        requested_at=row["requested_at"],
        requested_by=row["requested_by"],
        status="erased" if completed else "erasing",
        services=[
            Confirmation(service=s, confirmed_at=done.get(s)) for s in (PROFILE, *CONFIRMING)
        ],
        completed_at=completed,
        seconds=(completed - row["requested_at"]).total_seconds() if completed else None,
    )


async def export(
    conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """The customer's record, identities, consent and its history, 360, and segments
    (membership, and the attributes and activities they were decided on)."""
    held = (
        customer,
        identity,
        consent,
        consent_change,
        customer_view,
        segment_member,
        segment_fact,
        segment_activity,
    )
    found = {t.name: await rows_of(conn, t, tenant_id, customer_id) for t in held}
    c = customer_merge.c
    merges = await conn.execute(
        select(customer_merge).where(
            c.tenant_id == tenant_id,
            or_(c.survivor_id == customer_id, c.merged_id == customer_id),
        )
    )
    found["customer_merge"] = [dict(m) for m in merges.mappings()]
    return found
