"""Merges and their undo, as profile announces them, applied to the accounts.

A merge moves the merged customer's ledger entries and lots to the survivor (each
remembers whose it was: ``origin_id``), so the survivor has one balance (the sum of its
entries) and one qualifying spend (from its lots, the higher of the two tiers kept);
the merged account is kept as it was, and its id lives on as the survivor's.
The undo moves back every entry and lot whose origin is the merged customer (or one
merged into it before, or what came through its id meanwhile: ``claim_arrivals``),
puts the merged account back, recomputes both spends, and settles what the survivor's
spending took from the merged side's lots (``_settle``), so both balances are exact.

Applied in the consumer's batch transaction; a merge already applied, or an undo of
a merge not applied or undone already, changes nothing (a replay is harmless).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import store
from services.loyalty.announcements import announce
from services.loyalty.domain import tiers
from services.loyalty.domain.account import Account, Notice, notice
from services.loyalty.domain.rules import Programme
from services.loyalty.tables import account, customer_merge, ledger_entry, lot
from shared import merges as shared_merges
from shared.events.payload import Payload
from shared.events.profile import CustomersMerged, CustomersUnmerged
from shared.subscription import Received
from shared.uow import UnitOfWork

FROM_PROFILE: tuple[type[Payload], ...] = (CustomersMerged, CustomersUnmerged)
MOVED = (ledger_entry, lot)
_INSTANTS = ("tier_review_at", "reviewed_at", "next_due_at", "created_at", "updated_at")


async def apply(
    uow: UnitOfWork, batch: Sequence[Received[Payload]], programme: Programme, now: datetime
) -> None:
    """Apply the batch's merges and undos in order."""
    for received in batch:
        tenant = received.event.tenantid
        match received.payload:
            case CustomersMerged() as merged:
                await _merge(uow.conn, tenant, merged, programme, now)
            case CustomersUnmerged() as undone:
                await _unmerge(uow, tenant, undone, programme, now)


async def _merge(
    conn: AsyncConnection, tenant: str, event: CustomersMerged, programme: Programme, now: datetime
) -> None:
    merge_id = uuid.UUID(event.merge_id)
    if await shared_merges.recorded(conn, customer_merge, tenant, merge_id) is not None:
        return
    survivor, merged = uuid.UUID(event.survivor_id), uuid.UUID(event.merged_id)
    await store.open_accounts(conn, {(tenant, survivor)}, programme, now)
    rows = await _lock(conn, tenant, [survivor, merged])
    kept = rows.get(merged)
    await shared_merges.move_to_survivor(conn, MOVED, tenant, merged, survivor)
    await conn.execute(
        delete(account).where(account.c.tenant_id == tenant, account.c.customer_id == merged)
    )
    tiers_held = [rows[survivor]["tier"], *([kept["tier"]] if kept else [])]
    tier = max(tiers_held, key=lambda t: tiers.rank(programme.tiers, t))
    await _requalify(conn, tenant, survivor, programme, now, tier)
    await conn.execute(
        customer_merge.insert().values(
            tenant_id=tenant,
            merge_id=merge_id,
            survivor_id=survivor,
            merged_id=merged,
            merged_account=_json(kept) if kept else None,
            survivor_account=_json(rows[survivor]),
            merged_at=now,
        )
    )


async def _unmerge(
    uow: UnitOfWork,
    tenant: str,
    event: CustomersUnmerged,
    programme: Programme,
    now: datetime,
) -> None:
    conn, merge_id = uow.conn, uuid.UUID(event.merge_id)
    row = await shared_merges.recorded(conn, customer_merge, tenant, merge_id)
    if row is None or row["undone_at"] is not None:
        return
    survivor, merged = row["survivor_id"], row["merged_id"]
    await _lock(conn, tenant, [survivor])
    await shared_merges.move_back(conn, MOVED, tenant, survivor, merged, event.restored)
    reopened = row["merged_account"] is not None
    if reopened:
        await conn.execute(account.insert().values(**_account_of(row["merged_account"])))
    elif reopened := await _holds_any(conn, tenant, merged):  # what came for it meanwhile
        await store.open_accounts(conn, {(tenant, merged)}, programme, now)
    if reopened:
        await _requalify(conn, tenant, merged, programme, now, None)
    await _restore_tier(conn, tenant, survivor, row["survivor_account"], programme, now)
    await _settle(uow, tenant, merge_id, (survivor, merged), programme, now)
    await conn.execute(
        update(customer_merge)
        .where(customer_merge.c.tenant_id == tenant, customer_merge.c.merge_id == merge_id)
        .values(undone_at=now)
    )


async def _settle(
    uow: UnitOfWork,
    tenant: str,
    merge_id: uuid.UUID,
    pair: tuple[uuid.UUID, uuid.UUID],
    programme: Programme,
    now: datetime,
) -> None:
    """Each side has its own lots back, but a redemption or expiry while merged was
    written to the survivor and may have spent the merged side's lots: the merged side
    gives up what its lots lost to the survivor's spending (an ``adjust`` entry on each,
    announced), so both balances are again exactly what their lots hold."""
    found = await store.lock_accounts(uow.conn, [(tenant, c) for c in pair])
    survivor, merged = found[(tenant, pair[0])], found.get((tenant, pair[1]))
    if merged is None or not (owed := merged.ledger.overclaim()):
        return
    ref, rule = f"unmerge:{merge_id}", "unmerge: spent from the other side's lots while merged"
    noticed = [
        (side, notice(side, "credited", entry=side.ledger.adjust(points, ref, rule, now)), None)
        for side, points in ((merged, -owed), (survivor, owed))
    ]
    await store.save(uow.conn, [merged, survivor], noticed, programme, now)
    uow.publish(*(announce(side, n, None, now) for side, n, _ in noticed))


async def _holds_any(conn: AsyncConnection, tenant: str, customer: uuid.UUID) -> bool:
    """Whether the customer has ledger entries or lots (but perhaps no account)."""
    for table in MOVED:
        c = table.c
        query = select(c.customer_id).where(c.tenant_id == tenant, c.customer_id == customer)
        if (await conn.execute(query.limit(1))).first() is not None:
            return True
    return False


async def claim_arrivals(
    conn: AsyncConnection, noticed: Sequence[tuple[Account, Notice, Received[Payload]]]
) -> None:
    """What an event that came through a merged-away customer's id wrote to its
    survivor (entries it caused, lots it opened) is that customer's: an undo gives it
    back (``shared.merges.claim``)."""
    for _, n, received in noticed:
        if received.merged_from is None:
            continue
        await shared_merges.claim(
            conn, ledger_entry, received, ledger_entry.c.cause_event_id == received.event.id
        )
        if n.lot is not None and n.kind in ("credited", "pending"):
            await shared_merges.claim(conn, lot, received, lot.c.lot_id == n.lot.lot_id)


async def _restore_tier(
    conn: AsyncConnection,
    tenant: str,
    survivor: uuid.UUID,
    kept: dict[str, Any],
    programme: Programme,
    now: datetime,
) -> None:
    """The survivor's tier and review as they were before the merge, moved up at once
    if what it bought meanwhile earns a higher tier (as a purchase would)."""
    was = _account_of(kept)
    review = {k: was[k] for k in ("tier", "tier_review_at", "reviewed_tier", "reviewed_at")}
    await conn.execute(
        update(account)
        .where(account.c.tenant_id == tenant, account.c.customer_id == survivor)
        .values(**review)
    )
    await _requalify(conn, tenant, survivor, programme, now, None)
    spend = (await _lock(conn, tenant, [survivor]))[survivor]["qualifying_spend_minor"]
    higher = tiers.upgrade(programme.tiers, review["tier"], spend)
    if higher is not None:
        await _requalify(conn, tenant, survivor, programme, now, higher)


async def _requalify(
    conn: AsyncConnection,
    tenant: str,
    customer: uuid.UUID,
    programme: Programme,
    now: datetime,
    tier: str | None,
) -> None:
    """The account's qualifying spend from the lots it holds now (and its tier, if
    given); the sweep's due time recomputed by the next writer."""
    [held] = (await store.lock_accounts(conn, [(tenant, customer)])).values()
    spend = tiers.qualifying_spend(programme.tiers, held.ledger.lots, now)
    values: dict[str, Any] = {"qualifying_spend_minor": spend, "updated_at": now}
    if tier is not None:
        values["tier"] = tier
    await conn.execute(
        update(account)
        .where(account.c.tenant_id == tenant, account.c.customer_id == customer)
        .values(**values)
    )


async def _lock(
    conn: AsyncConnection, tenant: str, customers: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    a = account.c
    rows = await conn.execute(
        select(account)
        .where(a.tenant_id == tenant, a.customer_id.in_(customers))
        .order_by(a.customer_id)
        .with_for_update()
    )
    return {r["customer_id"]: dict(r) for r in rows.mappings()}


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (
            v.isoformat()
            if k in _INSTANTS and v is not None
            else str(v)
            if k == "customer_id"
            else v
        )
        for k, v in row.items()
    }


def _account_of(kept: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (
            datetime.fromisoformat(v)
            if k in _INSTANTS and v is not None
            else uuid.UUID(v)
            if k == "customer_id"
            else v
        )
        for k, v in kept.items()
    }
