"""A loyalty account, and what each thing that happens to a customer does to it.

Every change returns ``Notice``s: what happened, with the balance, pending points
and tier right after it, which the handlers turn into events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.loyalty.domain import tiers
from services.loyalty.domain.earning import Purchase, points_for_purchase
from services.loyalty.domain.goodwill import capped
from services.loyalty.domain.ledger import Entry, Ledger, Lot, Reversal
from services.loyalty.domain.rules import Programme

ORDER = "order:"  # the ref prefix of a purchase's lot


@dataclass
class Offer:
    """The one-time reactivation offer: spend ``spend_minor`` before ``valid_until``."""

    granted_at: datetime
    valid_until: datetime
    spend_minor: int
    currency: str
    reward_points: int
    progress_minor: int = 0
    completed_at: datetime | None = None


@dataclass
class Account:
    tenant_id: str
    customer_id: uuid.UUID
    tier: str
    ledger: Ledger = field(default_factory=Ledger)
    tier_review_at: datetime | None = None
    offer: Offer | None = None
    offer_changed: bool = False
    # What the last period-end review left (None: never reviewed, the lowest tier):
    # a refund re-qualifies from there.
    reviewed_tier: str | None = None
    reviewed_at: datetime | None = None


@dataclass(frozen=True)
class Notice:
    """Something that happened to an account; ``kind`` names the event to publish."""

    kind: str  # pending, credited, reversed, redeemed, expired, tier_changed, offer_granted
    balance: int
    pending: int
    tier: str
    entry: Entry | None = None
    lot: Lot | None = None
    reversal: Reversal | None = None
    from_tier: str | None = None
    cause: str = ""
    at: datetime | None = None  # when a tier move happened (its event's or due time)
    by: str | None = None  # who decided it, for a decision taken at the API


def notice(
    account: Account,
    kind: str,
    *,
    entry: Entry | None = None,
    lot: Lot | None = None,
    reversal: Reversal | None = None,
    from_tier: str | None = None,
    cause: str = "",
    at: datetime | None = None,
    by: str | None = None,
) -> Notice:
    """What just happened to the account, with its balance, pending points and tier now."""
    ledger = account.ledger
    figures = (ledger.balance, ledger.pending, account.tier)
    return Notice(kind, *figures, entry, lot, reversal, from_tier, cause, at, by)


def lot_id(account: Account, ref: str) -> uuid.UUID:
    """A lot's id from its cause, so a replay makes the same lot."""
    return uuid.uuid5(account.customer_id, f"{account.tenant_id}/lot/{ref}")


def purchase(
    account: Account, programme: Programme, order_id: str, bought: Purchase
) -> list[Notice]:
    """Earn the purchase's points (held while returnable), count its spend toward the
    tier and the reactivation offer. A known order is not rewarded twice. A free order
    is a purchase too: the earning rules decide its points (a first-purchase bonus, say),
    and the order after it is no longer the first."""
    ref = f"{ORDER}{order_id}"
    if account.ledger.lot_for(ref) is not None:
        return []
    first = not any(lot.ref.startswith(ORDER) for lot in account.ledger.lots)
    earning = points_for_purchase(programme.earning, bought, account.tier, first)
    available_at = bought.at + timedelta(days=programme.lots.return_window_days)
    lot = Lot(
        lot_id(account, ref),
        ref,
        earning.points,
        earning.points,
        bought.at,
        available_at,
        available_at + timedelta(days=programme.lots.valid_days),
        amount_minor=bought.amount_minor,
        currency=bought.currency,
    )
    entry = account.ledger.add_lot(lot, "earn", earning.rule, bought.at)
    notices = [notice(account, "credited" if entry else "pending", entry=entry, lot=lot)]
    notices += _retier(account, programme, bought.at, f"{ORDER}{order_id}")
    notices += _offer_progress(account, programme, bought.amount_minor, bought.currency, bought.at)
    return notices


def refund(
    account: Account, programme: Programme, order_id: str, amount_minor: int, ref: str, at: datetime
) -> list[Notice]:
    """Reverse the refunded share of the order's points, as the refund policy says, and
    (``reevaluate_tier``) take back the tier the refunded spend bought."""
    lot = account.ledger.lot_for(f"{ORDER}{order_id}")
    if lot is None:
        return []
    negative_ok = programme.refunds.allow_negative_balance
    reversal = account.ledger.reverse(lot, amount_minor, ref, at, negative_ok=negative_ok)
    notices = [notice(account, "reversed", entry=reversal.entry, lot=lot, reversal=reversal)]
    if programme.refunds.reevaluate_tier:
        notices += _requalify(account, programme, f"refund:{order_id}", at)
    return notices


def goodwill(
    account: Account, programme: Programme, complaint_id: str, severity: str, at: datetime
) -> list[Notice]:
    """Service recovery: points for a complaint of a configured severity, once each,
    within the customer's goodwill cap."""
    ref = f"complaint:{complaint_id}"
    asked = programme.goodwill.points_for(severity)
    if asked <= 0 or account.ledger.lot_for(ref) is not None:
        return []
    lots = account.ledger.lots
    grant = capped(programme.goodwill, lots, asked, f"goodwill:{severity}", at)
    return _grant(account, programme, ref, grant.points, grant.rule, at)


def compensation(
    account: Account, programme: Programme, complaint_id: str, points: int, at: datetime
) -> list[Notice]:
    """The points a resolution promised the customer, once per complaint: the resolver
    decided the amount, cut to the per-complaint and per-customer caps; a replay grants
    nothing."""
    ref = f"compensation:{complaint_id}"
    if points <= 0 or account.ledger.lot_for(ref) is not None:
        return []
    rules = programme.goodwill
    grant = capped(
        rules,
        account.ledger.lots,
        points,
        "compensation",
        at,
        per_complaint=rules.max_compensation_per_complaint,
    )
    return _grant(account, programme, ref, grant.points, grant.rule, at)


def went_silent(account: Account, programme: Programme, at: datetime) -> list[Notice]:
    """Offer a customer who went silent a way back, once in their life."""
    rules = programme.reactivation
    if rules is None or not programme.offers_reactivation or account.offer is not None:
        return []
    account.offer = Offer(
        at,
        at + timedelta(days=rules.within_days),
        rules.spend_minor,
        rules.currency,
        rules.reward_points,
    )
    account.offer_changed = True
    notices = [notice(account, "offer_granted")]
    # Silence comes from lifecycle's topic, purchases from the partners': a purchase made
    # after the customer went silent may have been applied first. It counts all the same.
    bought = sorted(
        (lot for lot in account.ledger.lots if lot.ref.startswith(ORDER) and lot.currency),
        key=lambda lot: (lot.earned_at, lot.ref),
    )
    for lot in bought:
        assert lot.currency is not None
        spent = (lot.amount_minor, lot.currency, lot.earned_at)
        notices += _offer_progress(account, programme, *spent)
    return notices


def sweep(account: Account, programme: Programme, now: datetime) -> list[Notice]:
    """The time-based work that is due: release closed return windows, expire lots
    (oldest first), and review the tier at the end of each period that has ended.

    Each piece happens at its due time (a lot's release and expiry, the period's end),
    not at the instant the sweep ran: so the account is the same whether the periodic
    sweep, an event of the customer (``catch_up``) or a rebuild replaying the history
    got there first."""
    notices = [
        notice(account, "credited", entry=entry, lot=lot)
        for lot, entry in account.ledger.release_due(now)
    ]
    notices += [
        notice(account, "expired", entry=entry, lot=lot)
        for lot, entry in account.ledger.expire_due(now)
    ]
    while account.tier_review_at is not None and account.tier_review_at <= now:
        notices += _review(account, programme, account.tier_review_at)
    return notices


def catch_up(account: Account, programme: Programme, at: datetime) -> list[Notice]:
    """The work that fell due before something happening at ``at`` (an event, a
    redemption), done first: a refund after the return window closed reverses credited
    points, a redemption never spends an expired lot, whenever the sweep last ran."""
    return sweep(account, programme, at)


def next_due(account: Account) -> datetime | None:
    times = [account.ledger.next_due(), account.tier_review_at]
    return min((t for t in times if t is not None), default=None)


def qualifying_spend(account: Account, programme: Programme, now: datetime) -> int:
    return tiers.qualifying_spend(programme.tiers, account.ledger.lots, now)


def _review(account: Account, programme: Programme, now: datetime) -> list[Notice]:
    spend = qualifying_spend(account, programme, now)
    moved = tiers.review(programme.tiers, account.tier, spend)
    before = account.tier
    if moved is not None:
        account.tier = moved
    account.tier_review_at = tiers.next_review(programme.tiers, account.tier, now)
    account.reviewed_tier, account.reviewed_at = account.tier, now
    if moved is None:
        return []
    cause = "qualification_period_end"
    return [notice(account, "tier_changed", from_tier=before, cause=cause, at=now)]


def _requalify(account: Account, programme: Programme, cause: str, at: datetime) -> list[Notice]:
    """Down to the tier the spend still earns, never below what the last review left,
    never up (a refund only takes away). A tier kept may be kept by a later purchase
    than the one that first earned it (the refunded one did): its review then moves
    to that purchase's period end, as event-time order gives it."""
    rules = programme.tiers
    floor = account.reviewed_tier or programme.lowest_tier
    tier, review_at = tiers.requalify(rules, floor, account.reviewed_at, account.ledger.lots)
    if tier == account.tier:
        account.tier_review_at = review_at
    if tiers.rank(rules, tier) >= tiers.rank(rules, account.tier):
        return []
    before, account.tier, account.tier_review_at = account.tier, tier, review_at
    return [notice(account, "tier_changed", from_tier=before, cause=cause, at=at)]


def _retier(account: Account, programme: Programme, at: datetime, cause: str) -> list[Notice]:
    """Up to the tier the purchase earns. A purchase that arrives after later ones (its
    partner was slow) may have lifted the tier at its time, which the later ones' spend
    then kept: the tier is qualified again over every purchase in event-time order, as
    a refund does, so the result does not depend on arrival (with ``reevaluate_tier``;
    without it a refund never takes a tier back, and arrival order stays in it)."""
    later = any(lot.earned_at > at for lot in account.ledger.lots if lot.ref.startswith(ORDER))
    if not (later and programme.refunds.reevaluate_tier):
        return _upgrade(account, programme, at, cause)
    rules = programme.tiers
    floor = account.reviewed_tier or programme.lowest_tier
    tier, review_at = tiers.requalify(rules, floor, account.reviewed_at, account.ledger.lots)
    if tiers.rank(rules, tier) < tiers.rank(rules, account.tier):
        return []
    before, account.tier, account.tier_review_at = account.tier, tier, review_at
    if tier == before:
        return []
    return [notice(account, "tier_changed", from_tier=before, cause=cause, at=at)]


def _upgrade(account: Account, programme: Programme, at: datetime, cause: str) -> list[Notice]:
    spend = qualifying_spend(account, programme, at)
    moved = tiers.upgrade(programme.tiers, account.tier, spend)
    if moved is None:
        return []
    before, account.tier = account.tier, moved
    account.tier_review_at = tiers.next_review(programme.tiers, moved, at)
    return [notice(account, "tier_changed", from_tier=before, cause=cause, at=at)]


def _offer_progress(
    account: Account, programme: Programme, amount_minor: int, currency: str, at: datetime
) -> list[Notice]:
    offer = account.offer
    if offer is None or offer.completed_at is not None or currency != offer.currency:
        return []
    if not offer.granted_at <= at < offer.valid_until:
        return []
    offer.progress_minor += amount_minor
    account.offer_changed = True
    if offer.progress_minor < offer.spend_minor:
        return []
    offer.completed_at = at
    reward = "offer:reactivation"
    return _grant(account, programme, reward, offer.reward_points, reward, at)


def _grant(
    account: Account, programme: Programme, ref: str, points: int, rule: str, at: datetime
) -> list[Notice]:
    if points <= 0 or account.ledger.lot_for(ref) is not None:
        return []
    expires_at = at + timedelta(days=programme.lots.valid_days)
    lot = Lot(lot_id(account, ref), ref, points, points, at, at, expires_at)
    entry = account.ledger.add_lot(lot, "adjust", rule, at)
    return [notice(account, "credited", entry=entry, lot=lot)]
