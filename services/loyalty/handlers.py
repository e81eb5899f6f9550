"""Loyalty's consumers: purchases and refunds, complaints and their resolution, and
lifecycle stages move the accounts they concern.

Set-based over a batch: the touched accounts are opened, locked and loaded in
one pass, every event is folded in Python in order, and the entries, lots,
offers and accounts are written in one statement each. The inbox already drops
a redelivered event; the domain also ignores an order it has rewarded before,
whatever event carries it (order ids are unique per customer, not across partners).
"""

from __future__ import annotations

from collections.abc import Sequence

from services.loyalty import store
from services.loyalty.announcements import announce
from services.loyalty.domain import commands
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
from shared.clock import Clock
from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.events.feedback import ComplaintOpened, ComplaintResolved
from shared.events.lifecycle import StageChanged
from shared.events.payload import Payload
from shared.subscription import Received
from shared.uow import UnitOfWork

# What each consumer applies, as ``_apply`` matches it.
FROM_ACTIVITY: tuple[type[Payload], ...] = (PurchaseCompleted, OrderRefunded)
FROM_FEEDBACK: tuple[type[Payload], ...] = (ComplaintOpened, ComplaintResolved)
FROM_LIFECYCLE: tuple[type[Payload], ...] = (StageChanged,)


async def update_accounts(
    uow: UnitOfWork, batch: Sequence[Received[Payload]], programme: Programme, clock: Clock
) -> None:
    """Fold the batch's purchases, refunds, complaints and stage changes into the accounts."""
    asked = [(r, c) for r in batch if (c := _command(r)) and commands.touches(programme, c)]
    if not asked:
        return
    now = clock.now()
    keys = {r.customer for r, _ in asked}
    await store.open_accounts(uow.conn, keys, programme, now)
    found = await store.lock_accounts(uow.conn, keys)
    noticed = []
    for received, command in asked:
        account = found[received.customer]
        for n in commands.apply(account, programme, command):
            noticed.append((account, n, received))
    await store.save(
        uow.conn, found.values(), [(a, n, r.event.id) for a, n, r in noticed], programme, now
    )
    uow.publish(*(announce(a, n, r.event, r.event.time) for a, n, r in noticed))


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
