"""Manual adjustments at the API: idempotent by key, capped, attributable.

Written the way a redemption is (``services.loyalty.redemptions`` argues why it cannot
overdraw): the account row is locked first, then the idempotency record and the ledger
are read, and the entry, its lot or the lots it spends, and the record (with the
deciding key, the reason and the balance after) commit in one transaction with the
``points_adjusted`` event. A rebuild folds the adjustment again from that event.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import redemptions, store
from services.loyalty.announcements import announce, happened
from services.loyalty.domain import account as accounts
from services.loyalty.domain import adjustments as manual
from services.loyalty.domain.account import Account, Notice
from services.loyalty.domain.adjustments import ADJUSTMENT, Asked, OverCap
from services.loyalty.domain.ledger import InsufficientPoints
from services.loyalty.domain.rules import Programme
from services.loyalty.redemptions import KeyReused, UnknownAccount
from services.loyalty.tables import adjustment
from shared.contracts.loyalty import Adjustment
from shared.db import insert_ignoring_conflicts
from shared.events.loyalty import PointsAdjusted, PointsRedeemed
from shared.subscription import Received
from shared.uow import Database, UnitOfWork


@dataclass(frozen=True)
class Adjust:
    tenant_id: str
    customer_id: uuid.UUID
    idempotency_key: str
    points: int
    reason: str
    adjusted_by: str | None

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.points}\x00{self.reason}".encode()).hexdigest()


async def adjust(db: Database, command: Adjust, programme: Programme) -> Adjustment:
    """Credit or debit the points, or answer as the first request with this key did.

    Raises ``UnknownAccount``, ``KeyReused``, ``OverCap`` or ``InsufficientPoints``;
    nothing is written then."""
    key = (command.tenant_id, command.customer_id)
    async with db.unit_of_work() as uow:
        found = await store.lock_accounts(uow.conn, [key])
        if key not in found:
            raise UnknownAccount(command.customer_id)
        earlier = await _earlier(uow.conn, command)
        if earlier is not None:
            return earlier
        account, now = found[key], db.clock.now()
        caught = accounts.catch_up(account, programme, now)  # never spend an expired lot
        asked = Asked(
            command.idempotency_key, command.points, command.reason, command.adjusted_by, now
        )
        noticed = [*caught, *manual.adjust(account, programme, asked)]
        await store.save(uow.conn, [account], [(account, n, None) for n in noticed], programme, now)
        row = _row(account, command, noticed[-1])
        await uow.conn.execute(adjustment.insert().values(row))
        uow.publish(*(announce(account, n, None, happened(n, now)) for n in noticed))
        await uow.commit()
    return _answer(row)


async def refold(
    uow: UnitOfWork,
    batch: Sequence[Received[PointsAdjusted]],
    programme: Programme,
    now: datetime,
) -> None:
    """The manual adjustments of one tenant, folded again from their ``points_adjusted``
    events by a rebuild: the same entry, lot, and record, at the time they were made,
    neither caps nor balance checked again. Goodwill, compensation, offers and an undone
    merge's settlement announce ``points_adjusted`` too: those loyalty derives again
    from their own causes, so only ``adjustment:`` refs are folded here."""
    asked = sorted(
        (r for r in batch if r.payload.ref.startswith(ADJUSTMENT)),
        key=lambda r: (r.event.time, r.event.id),
    )
    found = await store.lock_accounts(uow.conn, {r.customer for r in asked})
    noticed: list[tuple[Account, Notice]] = []
    rows = []
    for received in asked:
        p, account = received.payload, found.get(received.customer)
        if account is None:  # the account was erased after the adjustment
            continue
        noticed += [(account, n) for n in accounts.catch_up(account, programme, p.at)]
        key = p.ref.removeprefix(ADJUSTMENT)
        reason = p.reason or p.rule.removeprefix(manual.MANUAL)
        made = manual.adjusted(
            account, programme, Asked(key, p.points, reason, p.adjusted_by, p.at)
        )
        noticed += [(account, n) for n in made]
        command = Adjust(
            account.tenant_id, account.customer_id, key, p.points, reason, p.adjusted_by
        )
        rows.append(_row(account, command, made[-1]))
    await store.save(uow.conn, found.values(), [(a, n, None) for a, n in noticed], programme, now)
    await insert_ignoring_conflicts(uow.conn, adjustment, rows)


async def refold_decided(
    uow: UnitOfWork, batch: Sequence[Received[Any]], programme: Programme, now: datetime
) -> None:
    """What was decided at loyalty's API, folded again by a rebuild in the order it was
    decided: redemptions and manual adjustments of one tenant spend the same lots, so
    each run of one kind is folded before the next begins."""
    decided = sorted(
        (r for r in batch if _decided_at_api(r.payload)), key=lambda r: (r.event.time, r.event.id)
    )
    for redeemed, run in itertools.groupby(
        decided, lambda r: isinstance(r.payload, PointsRedeemed)
    ):
        fold = redemptions.refold if redeemed else refold
        await fold(uow, list(run), programme, now)


def _decided_at_api(payload: object) -> bool:
    if isinstance(payload, PointsRedeemed):
        return bool(payload.idempotency_key)
    return isinstance(payload, PointsAdjusted) and payload.ref.startswith(ADJUSTMENT)


def _row(account: Account, command: Adjust, made: Notice) -> dict[str, Any]:
    """The adjustment's record: its key, request, deciding key and entry."""
    assert made.entry is not None
    return {
        "tenant_id": command.tenant_id,
        "customer_id": command.customer_id,
        "idempotency_key": command.idempotency_key,
        "request_hash": command.fingerprint,
        "entry_id": store.entry_id(account, made.entry),
        "points": made.entry.points,
        "reason": command.reason,
        "adjusted_by": command.adjusted_by,
        "balance_after": made.balance,
        "created_at": made.entry.at,
    }


async def _earlier(conn: AsyncConnection, command: Adjust) -> Adjustment | None:
    a = adjustment.c
    query = select(adjustment).where(
        a.tenant_id == command.tenant_id,
        a.customer_id == command.customer_id,
        a.idempotency_key == command.idempotency_key,
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    if row["request_hash"] != command.fingerprint:
        raise KeyReused(command.idempotency_key)
    return _answer(row)


def _answer(row: Mapping[Any, Any]) -> Adjustment:
    """The adjustment as the first answer gave it and every repeat gives it again."""
    return Adjustment(
        entry_id=row["entry_id"],
        points=row["points"],
        ref=f"{ADJUSTMENT}{row['idempotency_key']}",
        reason=row["reason"],
        adjusted_by=row["adjusted_by"],
        at=row["created_at"],
        balance_after=row["balance_after"],
    )


__all__ = ["Adjust", "InsufficientPoints", "KeyReused", "OverCap", "UnknownAccount", "adjust"]
