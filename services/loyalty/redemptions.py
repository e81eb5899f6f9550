"""Redeeming points: idempotent by key, and never more than the balance.

Why this cannot overdraw on PostgreSQL, however many requests race for one
account: the transaction first takes the account row with ``SELECT … FOR
UPDATE`` and only then sums the ledger. A second transaction asking for the
same row waits until the first commits or rolls back; in READ COMMITTED every
statement after the wait takes a new snapshot, so its sum includes the first
redemption's entry. Balance check, entry and idempotency record are one
transaction under that lock, so there is no window between "read the balance"
and "append the debit" in which another writer (a redemption, a refund, the
expiry sweep, all of which take the same lock) can spend the same points. The
idempotency record commits with the entry: a retry after a crash either finds
both or neither. On SQLite (embedded mode) ``FOR UPDATE`` is a no-op; there
every transaction begins with ``BEGIN IMMEDIATE`` (``shared.db``), which takes
the database's one write lock before the first read, so the lock, the
idempotency lookup and the sum are just as serialised. (Without that, the
driver's deferred ``BEGIN`` left those reads outside the transaction, and 50
parallel redemptions overdrew one account.)
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import store
from services.loyalty.announcements import REDEMPTION, announce, happened
from services.loyalty.domain import account as accounts
from services.loyalty.domain.account import Account, Notice, notice
from services.loyalty.domain.ledger import Entry, InsufficientPoints
from services.loyalty.domain.rules import Programme
from services.loyalty.tables import account, ledger_entry, redemption
from shared.contracts.loyalty import LedgerEntry
from shared.db import insert_ignoring_conflicts
from shared.events.loyalty import PointsRedeemed
from shared.subscription import Received
from shared.uow import Database, UnitOfWork


class UnknownAccount(Exception):
    pass


class KeyReused(Exception):
    """The idempotency key was used before for a different redemption."""


@dataclass(frozen=True)
class Redeem:
    tenant_id: str
    customer_id: uuid.UUID
    idempotency_key: str
    points: int
    reason: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.points}\x00{self.reason}".encode()).hexdigest()


async def redeem(db: Database, command: Redeem, programme: Programme) -> LedgerEntry:
    """Spend the points, or answer as the first request with this key did.

    Raises ``UnknownAccount``, ``KeyReused`` or ``InsufficientPoints``; nothing is
    written then."""
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
        ref = f"{REDEMPTION}{command.idempotency_key}"
        entry = account.ledger.redeem(command.points, ref, command.reason, now)
        noticed = [*caught, notice(account, "redeemed", entry=entry)]
        await store.save(uow.conn, [account], [(account, n, None) for n in noticed], programme, now)
        await uow.conn.execute(redemption.insert().values(_row(account, command, entry)))
        uow.publish(*(announce(account, n, None, happened(n, now)) for n in noticed))
        await uow.commit()
    return _answer(store.entry_id(account, entry), entry.points, ref, entry.at)


async def refold(
    uow: UnitOfWork,
    batch: Sequence[Received[PointsRedeemed]],
    programme: Programme,
    now: datetime,
) -> None:
    """The redemptions of one tenant made at the API, folded again from their
    ``points_redeemed`` events by a rebuild (``services.loyalty.rebuild``): the same
    entry, lot consumption and idempotency record, at the time they were made. The
    other events on crm.loyalty are loyalty's own consequences of what it folds."""
    asked = sorted(
        (r for r in batch if r.payload.idempotency_key), key=lambda r: (r.event.time, r.event.id)
    )
    found = await store.lock_accounts(uow.conn, {r.customer for r in asked})
    noticed: list[tuple[Account, Notice]] = []
    rows = []
    for received in asked:
        p, account = received.payload, found.get(received.customer)
        if account is None:  # the account was erased after the redemption
            continue
        noticed += [(account, n) for n in accounts.catch_up(account, programme, p.at)]
        key = p.idempotency_key or ""
        # Decided at the API then: recorded as it was, the balance not checked again.
        entry = account.ledger.redeemed(-p.points, REDEMPTION + key, REDEMPTION + p.reason, p.at)
        n = notice(account, "redeemed", entry=entry)
        noticed.append((account, n))
        asked_again = Redeem(account.tenant_id, account.customer_id, key, -p.points, p.reason)
        assert n.entry is not None
        rows.append(_row(account, asked_again, n.entry))
    await store.save(uow.conn, found.values(), [(a, n, None) for a, n in noticed], programme, now)
    await insert_ignoring_conflicts(uow.conn, redemption, rows)


def _row(account: Account, command: Redeem, entry: Entry) -> dict[str, object]:
    """The redemption's idempotency record: its key, request and entry."""
    return {
        "tenant_id": command.tenant_id,
        "customer_id": command.customer_id,
        "idempotency_key": command.idempotency_key,
        "request_hash": command.fingerprint,
        "entry_id": store.entry_id(account, entry),
        "created_at": entry.at,
    }


async def _earlier(conn: AsyncConnection, command: Redeem) -> LedgerEntry | None:
    query = (
        select(redemption.c.request_hash, ledger_entry, account.c.tier)
        .join(ledger_entry, ledger_entry.c.entry_id == redemption.c.entry_id)
        .join(
            account,
            (account.c.tenant_id == redemption.c.tenant_id)
            & (account.c.customer_id == redemption.c.customer_id),
        )
        .where(
            redemption.c.tenant_id == command.tenant_id,
            redemption.c.customer_id == command.customer_id,
            redemption.c.idempotency_key == command.idempotency_key,
        )
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    if row.request_hash != command.fingerprint:
        raise KeyReused(command.idempotency_key)
    return _answer(row.entry_id, row.points, row.ref, row.at)


def _answer(entry_id: uuid.UUID, points: int, ref: str, at: datetime) -> LedgerEntry:
    """The ledger entry, as the first answer gave it and every repeat gives it again."""
    return LedgerEntry(entry_id=entry_id, kind="redeem", points=points, at=at, ref=ref)


__all__ = ["InsufficientPoints", "KeyReused", "Redeem", "UnknownAccount", "redeem"]
