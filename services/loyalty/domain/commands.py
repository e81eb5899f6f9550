"""What the consumers ask of an account, and the one place that decides whether it can
change one at all: an event that cannot (goodwill for a severity that earns none, a
silence when no reactivation offer is configured) needs no account row and no lock,
and ``touches`` says so with the same rules the account applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.loyalty.domain import account
from services.loyalty.domain.account import Account, Notice
from services.loyalty.domain.earning import Purchase
from services.loyalty.domain.rules import Programme


@dataclass(frozen=True)
class Buy:
    order_id: str
    purchase: Purchase


@dataclass(frozen=True)
class Refund:
    order_id: str
    amount_minor: int
    ref: str  # this refund's own reference, so two partial refunds of one order both count
    at: datetime


@dataclass(frozen=True)
class GrantGoodwill:
    complaint_id: str
    severity: str
    at: datetime


@dataclass(frozen=True)
class Compensate:
    complaint_id: str
    points: int
    at: datetime


@dataclass(frozen=True)
class OfferReactivation:
    at: datetime  # when the customer went silent


Command = Buy | Refund | GrantGoodwill | Compensate | OfferReactivation


def touches(programme: Programme, command: Command) -> bool:
    """Whether the command may change an account under this programme."""
    match command:
        case GrantGoodwill(severity=severity):
            return programme.goodwill.points_for(severity) > 0
        case Compensate(points=points):
            return points > 0
        case OfferReactivation():
            return programme.offers_reactivation
    return True


def awaits(acc: Account, command: Command) -> str | None:
    """What the command waits for before it can apply, if anything: a refund of an
    order the account has not seen yet waits for that order (partners are not ordered
    with each other), and is applied right after it."""
    match command:
        case Refund(order_id=order_id) if acc.ledger.lot_for(order_ref(order_id)) is None:
            return order_ref(order_id)
    return None


def time_of(command: Command) -> datetime:
    """When what the command carries out happened (its event's time)."""
    match command:
        case Buy(purchase=bought):
            return bought.at
        case Refund(at=at) | GrantGoodwill(at=at) | Compensate(at=at) | OfferReactivation(at=at):
            return at


def order_ref(order_id: str) -> str:
    """How an order is named, in its lot and in what waits for it."""
    return f"{account.ORDER}{order_id}"


def apply(acc: Account, programme: Programme, command: Command) -> list[Notice]:
    """Carry the command out on the account; what happened, as notices."""
    match command:
        case Buy(order_id=order_id, purchase=bought):
            return account.purchase(acc, programme, order_id, bought)
        case Refund(order_id=order_id, amount_minor=amount, ref=ref, at=at):
            return account.refund(acc, programme, order_id, amount, ref, at)
        case GrantGoodwill(complaint_id=complaint, severity=severity, at=at):
            return account.goodwill(acc, programme, complaint, severity, at)
        case Compensate(complaint_id=complaint, points=points, at=at):
            return account.compensation(acc, programme, complaint, points, at)
        case OfferReactivation(at=at):
            return account.went_silent(acc, programme, at)
