"""RFM statistics (recency, frequency, monetary) from a customer's purchases, and the
due times of silence and churn they imply.

Statistics are recomputed from the purchases themselves rather than incremented,
so a late or repeated event, or a refund, lands in the same numbers whatever the
order it arrives in. As the literature does, purchases on one (UTC) day are one
purchase occasion, and an order refunded in full does not count.

Whether an order counts is its state, never its amount: a free order (amount 0) is
a purchase like any other, and a refund that arrived before its order is no order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from statistics import fmean
from typing import Literal

from services.lifecycle.domain.config import Silence

# bought: the order stands (whatever its amount, partly refunded or not);
# refunded: refunded in full; awaiting: only a refund has arrived, not the order yet.
OrderState = Literal["bought", "refunded", "awaiting"]
BOUGHT: OrderState = "bought"


@dataclass(frozen=True)
class Purchase:
    order_id: str
    at: datetime
    amount_minor: int
    refunded_minor: int = 0
    state: OrderState = "bought"
    currency: str | None = None  # None: an order recorded before lifecycle kept currencies
    refunded_at: datetime | None = None  # when its latest refund was made

    def __post_init__(self) -> None:
        # A paid order whose refunds reach its amount is refunded in full; a free order
        # has nothing to reach, so only a refund event (``refund``) marks it refunded.
        if self.state == "bought" and 0 < self.amount_minor <= self.refunded_minor:
            object.__setattr__(self, "state", "refunded")

    @property
    def paid(self) -> bool:
        """The order stands (bought, not refunded in full), free or not: it counts."""
        return self.state == "bought"

    @property
    def known(self) -> bool:
        """The order itself has arrived (not only a refund of it)."""
        return self.state != "awaiting"

    def refund(self, amount_minor: int, at: datetime | None = None) -> Purchase:
        """This order after a refund of ``amount_minor`` made ``at``: never more than it
        cost, and a refund of a free order refunds it in full. A refund of an order not
        seen yet is kept whole for when it arrives."""
        total = self.refunded_minor + amount_minor
        when = max((t for t in (self.refunded_at, at) if t is not None), default=None)
        if not self.known:
            return Purchase(self.order_id, self.at, 0, total, "awaiting", self.currency, when)
        total = min(total, self.amount_minor)
        state: OrderState = "refunded" if total >= self.amount_minor else self.state
        return Purchase(
            self.order_id, self.at, self.amount_minor, total, state, self.currency, when
        )


@dataclass(frozen=True)
class Rfm:
    orders: int = 0
    revenue_minor: int = 0
    refunded_minor: int = 0
    refunds: int = 0
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    occasions: int = 0
    usual_gap_days: float | None = None
    last_gap_days: float | None = None
    earlier_gap_days: float | None = None


def occasion_days(purchases: Iterable[Purchase]) -> list[date]:
    """The distinct days with a paid purchase, in order."""
    return sorted({p.at.date() for p in purchases if p.paid})


def rfm_of(purchases: Iterable[Purchase]) -> Rfm:
    """The statistics of these purchases (each order once; a refund waiting for its
    order is not one yet)."""
    all_orders = [p for p in purchases if p.known]
    paid = [p for p in all_orders if p.paid]
    days = occasion_days(paid)
    gaps = [(later - earlier).days for earlier, later in pairwise(days)]
    return Rfm(
        orders=len(paid),
        revenue_minor=sum(p.amount_minor - p.refunded_minor for p in all_orders),
        refunded_minor=sum(p.refunded_minor for p in all_orders),
        refunds=sum(1 for p in all_orders if p.refunded_minor > 0 or p.state == "refunded"),
        first_purchase_at=min((p.at for p in paid), default=None),
        last_purchase_at=max((p.at for p in paid), default=None),
        occasions=len(days),
        usual_gap_days=fmean(gaps) if gaps else None,
        last_gap_days=float(gaps[-1]) if gaps else None,
        earlier_gap_days=fmean(gaps[:-1]) if len(gaps) > 1 else None,
    )


def silence_due(rfm: Rfm, silence: Silence, quiet_since: datetime | None = None) -> datetime | None:
    """When this customer goes silent if they buy nothing more: counted from their last
    purchase, or from ``quiet_since`` for one who never bought.

    The fixed threshold, or sooner for a customer with a rhythm of their own: a
    weekly buyer is overdue after a few weeks, long before a yearly one.
    """
    start = rfm.last_purchase_at or quiet_since
    if start is None:
        return None
    days = silence.silent_after_days
    if rfm.usual_gap_days and rfm.occasions >= silence.adaptive_min_occasions:
        days = min(days, max(1.0, rfm.usual_gap_days) * silence.adaptive_gap_multiple)
    return start + timedelta(days=days)


def churn_due(rfm: Rfm, silence: Silence, quiet_since: datetime | None = None) -> datetime | None:
    """When this customer is churned if they buy nothing more (counted as silence is)."""
    start = rfm.last_purchase_at or quiet_since
    if start is None:
        return None
    return start + timedelta(days=silence.churned_after_days)


def orders_within(purchases: Iterable[Purchase], end: datetime, days: float) -> int:
    """Paid orders in the ``days`` before ``end`` (the loyal guard's window)."""
    start = end - timedelta(days=days)
    return sum(1 for p in purchases if p.paid and start < p.at <= end)


def frequency_declining(rfm: Rfm, multiple: float) -> bool:
    """The latest gap is clearly longer (``multiple`` times) than the customer's earlier
    rhythm."""
    if rfm.last_gap_days is None or not rfm.earlier_gap_days:
        return False
    return rfm.last_gap_days > multiple * rfm.earlier_gap_days
