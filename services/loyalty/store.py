"""Loading and saving loyalty accounts, a batch at a time (flushes, never commits).

Every writer of a ledger (the consumers, the redemption route, the sweep) first
locks the account rows with ``SELECT … FOR UPDATE`` in key order, then reads the
balance and lots: so two writers of one account run one after the other, and the
second reads what the first committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypedDict

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.domain import account as accounts
from services.loyalty.domain.account import Account, Notice, Offer
from services.loyalty.domain.ledger import Entry, Ledger, Lot
from services.loyalty.domain.rules import Programme
from services.loyalty.tables import account, ledger_entry, lot, offer, tier_change
from shared.db import insert_ignoring_conflicts, insert_rows, keys_in, upsert

Key = tuple[str, uuid.UUID]
LOT_FIELDS = tuple(Lot.__dataclass_fields__)
REACTIVATION = "reactivation"


class EntryRow(TypedDict):
    """One row of ``ledger_entry``: a change of balance and what caused it."""

    entry_id: uuid.UUID
    tenant_id: str
    customer_id: uuid.UUID
    kind: str
    points: int
    ref: str
    rule: str
    cause_event_id: uuid.UUID | None
    at: datetime


class AccountRow(TypedDict):
    """One row of ``account``: the tier, its review, and when the sweep next looks."""

    tenant_id: str
    customer_id: uuid.UUID
    tier: str
    qualifying_spend_minor: int
    currency: str
    tier_review_at: datetime | None
    reviewed_tier: str | None
    reviewed_at: datetime | None
    next_due_at: datetime | None
    created_at: datetime
    updated_at: datetime


def entry_id(account: Account, entry: Entry) -> uuid.UUID:
    """An entry's id from its unique cause (kind, ref), so a replay writes the same id."""
    return uuid.uuid5(account.customer_id, f"{account.tenant_id}/entry/{entry.kind}/{entry.ref}")


async def open_accounts(
    conn: AsyncConnection, keys: Iterable[Key], programme: Programme, now: datetime
) -> None:
    """Make sure these customers have an account (at the lowest tier)."""
    rows = [
        {
            "tenant_id": t,
            "customer_id": c,
            "tier": programme.lowest_tier,
            "qualifying_spend_minor": 0,
            "currency": programme.tiers.currency,
            "created_at": now,
            "updated_at": now,
        }
        for t, c in sorted(keys)
    ]
    await insert_ignoring_conflicts(conn, account, rows)


async def lock_accounts(conn: AsyncConnection, keys: Iterable[Key]) -> dict[Key, Account]:
    """Lock the accounts (in key order, so two writers never wait on each other in a
    circle) and load their balances, lots and offers."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    where = keys_in(conn, [account.c.tenant_id, account.c.customer_id], wanted)
    query = select(account).where(where).order_by(account.c.tenant_id, account.c.customer_id)
    locked = (await conn.execute(query.with_for_update())).mappings()
    found = {(a.tenant_id, a.customer_id): a for a in map(_account, locked)}
    for key, balance in (await _balances(conn, wanted)).items():
        found[key].ledger.balance = balance
    for row in (await conn.execute(select(lot).where(_keyed(conn, lot, wanted)))).mappings():
        found[(row["tenant_id"], row["customer_id"])].ledger.lots.append(lot_of(row))
    offers = select(offer).where(_keyed(conn, offer, wanted), offer.c.kind == REACTIVATION)
    for row in (await conn.execute(offers)).mappings():
        found[(row["tenant_id"], row["customer_id"])].offer = _offer(row)
    return found


async def save(
    conn: AsyncConnection,
    changed: Iterable[Account],
    noticed: Sequence[tuple[Account, Notice, uuid.UUID | None]],
    programme: Programme,
    now: datetime,
) -> None:
    """Append the new entries and write the lots, offers and accounts that changed."""
    entries = [
        _entry_row(account, n.entry, cause) for account, n, cause in noticed if n.entry is not None
    ]
    await insert_rows(conn, ledger_entry, entries)
    moves = [
        {
            "tenant_id": account.tenant_id,
            "customer_id": account.customer_id,
            "from_tier": n.from_tier,
            "to_tier": n.tier,
            "cause": n.cause[:200],
            "at": n.at or now,
        }
        for account, n, _ in noticed
        if n.kind == "tier_changed" and n.from_tier is not None
    ]
    await insert_rows(conn, tier_change, moves)
    changed = list(changed)
    lots = [
        _lot_row(account, lot)
        for account in changed
        for lot in account.ledger.lots
        if lot.lot_id in account.ledger.changed
    ]
    await upsert(conn, lot, lots, key=("lot_id",))
    offers = [
        _offer_row(account)
        for account in changed
        if account.offer is not None and account.offer_changed
    ]
    await upsert(conn, offer, offers, key=("tenant_id", "customer_id", "kind"))
    await upsert(
        conn,
        account,
        [_account_row(account, programme, now) for account in changed],
        key=("tenant_id", "customer_id"),
        update=(
            "tier",
            "qualifying_spend_minor",
            "tier_review_at",
            "reviewed_tier",
            "reviewed_at",
            "next_due_at",
            "updated_at",
        ),
    )


async def _balances(conn: AsyncConnection, keys: Sequence[Key]) -> dict[Key, int]:
    total = func.sum(ledger_entry.c.points)
    query = (
        select(ledger_entry.c.tenant_id, ledger_entry.c.customer_id, total)
        .where(_keyed(conn, ledger_entry, keys))
        .group_by(ledger_entry.c.tenant_id, ledger_entry.c.customer_id)
    )
    return {(t, c): int(s) for t, c, s in await conn.execute(query)}


def _keyed(conn: AsyncConnection, table: Table, keys: Sequence[Key]) -> ColumnElement[bool]:
    return keys_in(conn, [table.c.tenant_id, table.c.customer_id], keys)


def lot_of(row: RowMapping) -> Lot:
    """A lot row as the ledger's ``Lot``."""
    return Lot(**{name: row[name] for name in LOT_FIELDS})


def _account(row: RowMapping) -> Account:
    """An account row, its ledger still empty (the balance and lots are read apart)."""
    return Account(
        row["tenant_id"],
        row["customer_id"],
        row["tier"],
        Ledger(),
        row["tier_review_at"],
        reviewed_tier=row["reviewed_tier"],
        reviewed_at=row["reviewed_at"],
    )


def _offer(row: RowMapping) -> Offer:
    return Offer(
        row["granted_at"],
        row["valid_until"],
        row["spend_minor"],
        row["currency"],
        row["reward_points"],
        row["progress_minor"],
        row["completed_at"],
    )


def _entry_row(account: Account, entry: Entry, cause: uuid.UUID | None) -> EntryRow:
    return {
        "entry_id": entry_id(account, entry),
        "tenant_id": account.tenant_id,
        "customer_id": account.customer_id,
        "kind": entry.kind,
        "points": entry.points,
        "ref": entry.ref[:200],
        "rule": entry.rule[:300],
        "cause_event_id": cause,
        "at": entry.at,
    }


def _lot_row(account: Account, lot: Lot) -> dict[str, object]:
    return {"tenant_id": account.tenant_id, "customer_id": account.customer_id, **lot.__dict__}


def _offer_row(account: Account) -> dict[str, object]:
    assert account.offer is not None
    return {
        "tenant_id": account.tenant_id,
        "customer_id": account.customer_id,
        "kind": REACTIVATION,
        **account.offer.__dict__,
    }


def _account_row(account: Account, programme: Programme, now: datetime) -> AccountRow:
    return {
        "tenant_id": account.tenant_id,
        "customer_id": account.customer_id,
        "tier": account.tier,
        "qualifying_spend_minor": accounts.qualifying_spend(account, programme, now),
        "currency": programme.tiers.currency,
        "tier_review_at": account.tier_review_at,
        "reviewed_tier": account.reviewed_tier,
        "reviewed_at": account.reviewed_at,
        "next_due_at": accounts.next_due(account),
        "created_at": now,
        "updated_at": now,
    }
