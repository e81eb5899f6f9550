"""Loyalty's consumers: purchases and refunds, complaints and their resolution, and
lifecycle stages move the accounts they concern.

Set-based over a batch: the touched accounts are opened, locked and loaded in
one pass, every event is folded in Python in order, and the entries, lots,
offers and accounts are written in one statement each. The inbox already drops
a redelivered event; the domain also ignores an order it has rewarded before,
whatever event carries it (order ids are unique per customer, not across partners).
A refund that arrives before its purchase (another partner's system, not ordered
with the till) is parked (``shared.parking``) and applied right after the purchase,
in the transaction that applies the purchase. Before an event applies, the account's
work that fell due before the event's time (a release, an expiry, a tier review) is done
at its due time (``account.catch_up``), so the account does not depend on when the
sweep last ran, and a rebuild folding the history again finds the same.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime

from services.loyalty import merges, store
from services.loyalty.announcements import announce, happened
from services.loyalty.domain import account as accounts
from services.loyalty.domain import commands
from services.loyalty.domain.account import Account, Notice
from services.loyalty.domain.commands import (
    Buy,
    Command,
    Compensate,
    GrantGoodwill,
    OfferReactivation,
    Refund,
)
from services.loyalty.domain.earning import Item, Purchase
from services.loyalty.domain.rules import Programme
from services.loyalty.tables import customer_merge
from shared.clock import Clock
from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.events.feedback import ComplaintOpened, ComplaintResolved
from shared.events.lifecycle import StageChanged
from shared.events.payload import Payload
from shared.merges import on_survivors
from shared.parking import Parking, WaitKey
from shared.subscription import CustomerKey, Received
from shared.uow import UnitOfWork

Asked = tuple[Received[Payload], Command]
# A notice, the event that caused it (None: work that fell due) and the event's time.
Noticed = tuple[Account, Notice, Received[Payload] | None, datetime]

# What each consumer applies, as ``_apply`` matches it.
FROM_ACTIVITY: tuple[type[Payload], ...] = (PurchaseCompleted, OrderRefunded)
FROM_FEEDBACK: tuple[type[Payload], ...] = (ComplaintOpened, ComplaintResolved)
FROM_LIFECYCLE: tuple[type[Payload], ...] = (StageChanged,)


async def update_accounts(
    uow: UnitOfWork,
    batch: Sequence[Received[Payload]],
    programme: Programme,
    clock: Clock,
    parking: Parking,
) -> None:
    """Fold the batch's purchases, refunds, complaints and stage changes into the accounts;
    a refund of an order not seen yet is parked, and applied right after its order.
    An event about a merged-away customer applies to its survivor."""
    batch = await on_survivors(uow.conn, customer_merge, batch)
    asked = [(r, c) for r in batch if (c := _command(r)) and commands.touches(programme, c)]
    bought = {(*r.customer, commands.order_ref(c.order_id)) for r, c in asked if isinstance(c, Buy)}
    held: dict[WaitKey, list[Asked]] = {}
    taken = await parking.take(uow.conn, bought)  # kept as they came: merged ids too
    for early in await on_survivors(uow.conn, customer_merge, taken):
        if (command := _command(early)) is not None:
            held.setdefault(_waits(early, command), []).append((early, command))
    if not asked:
        return
    now = clock.now()
    keys = {r.customer for r, _ in asked}
    await store.open_accounts(uow.conn, keys, programme, now)
    found = await store.lock_accounts(uow.conn, keys)
    noticed = _fold(found, deque(asked), held, programme)
    await store.save(
        uow.conn,
        found.values(),
        [(a, n, r.event.id if r else None) for a, n, r, _ in noticed],
        programme,
        now,
    )
    await merges.claim_arrivals(uow.conn, [(a, n, r) for a, n, r, _ in noticed if r is not None])
    uow.publish(*(announce(a, n, r.event if r else None, at) for a, n, r, at in noticed))
    await parking.park(uow.conn, [(r, w[2]) for w, rs in held.items() for r, _ in rs])


def _fold(
    found: dict[CustomerKey, Account],
    queue: deque[Asked],
    held: dict[WaitKey, list[Asked]],
    programme: Programme,
) -> list[Noticed]:
    """Apply the commands in order, each after the work due before its time; one that
    waits is held in ``held`` and applied right after what it waits for, if that comes
    in this batch."""
    noticed: list[Noticed] = []
    while queue:
        received, command = queue.popleft()
        account = found[received.customer]
        if (waits := commands.awaits(account, command)) is not None:
            held.setdefault((*received.customer, waits), []).append((received, command))
            continue
        at = commands.time_of(command)
        for n in accounts.catch_up(account, programme, at):  # announced as the sweep does
            noticed.append((account, n, None, happened(n, at)))
        for n in commands.apply(account, programme, command):
            noticed.append((account, n, received, received.event.time))
        if isinstance(command, Buy):
            ref = commands.order_ref(command.order_id)
            queue.extendleft(reversed(held.pop((*received.customer, ref), [])))
    return noticed


def _waits(received: Received[Payload], command: Command) -> WaitKey:
    assert isinstance(command, Refund)  # only refunds are ever parked
    return (*received.customer, commands.order_ref(command.order_id))


def _command(received: Received[Payload]) -> Command | None:
    """What the event asks of the customer's account (a translation, no decision)."""
    event, at = received.event, received.event.time
    match received.payload:
        case PurchaseCompleted() as p:
            items = tuple(Item(i.amount_minor, i.category) for i in p.items)
            return Buy(p.order_id, Purchase(p.amount_minor, p.currency, p.channel, at, items))
        case OrderRefunded(order_id=order_id, amount_minor=amount):
            return Refund(order_id, amount, f"order:{order_id}/refund:{event.id}", at)
        case ComplaintOpened(complaint_id=complaint, severity=severity, opened_at=opened):
            return GrantGoodwill(complaint, severity, opened)
        case ComplaintResolved(complaint_id=complaint, compensation_points=points, resolved_at=at):
            return Compensate(complaint, points, at)
        case StageChanged(to_stage="silent", at=silent_at):
            return OfferReactivation(silent_at)
    return None
