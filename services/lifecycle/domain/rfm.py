"""RFM statistics (recency, frequency, monetary) from a customer's purchases, and the
due times of silence and churn they imply.

Statistics are recomputed from the purchases themselves rather than incremented,
so a late or repeated event, or a refund, lands in the same numbers whatever the
order it arrives in. As the literature does, purchases on one (UTC) day are one
purchase occasion, and an order refunded in full does not count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from statistics import fmean

from services.lifecycle.domain.config import Silence


@dataclass(frozen=True)
class Purchase:
    order_id: str
    at: datetime
    amount_minor: int
    refunded_minor: int = 0

    @property
    def paid(self) -> bool:
        """Not refunded in full: it still counts as an order."""
        return self.refunded_minor < self.amount_minor


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
    """The statistics of these purchases (each order once)."""
    all_orders = list(purchases)
    paid = [p for p in all_orders if p.paid]
    days = occasion_days(paid)
    gaps = [(later - earlier).days for earlier, later in pairwise(days)]
    return Rfm(
        orders=len(paid),
        revenue_minor=sum(p.amount_minor - p.refunded_minor for p in all_orders),
        refunded_minor=sum(p.refunded_minor for p in all_orders),
        refunds=sum(1 for p in all_orders if p.refunded_minor > 0),
        first_purchase_at=min((p.at for p in paid), default=None),
        last_purchase_at=max((p.at for p in paid), default=None),
        occasions=len(days),
        usual_gap_days=fmean(gaps) if gaps else None,
        last_gap_days=float(gaps[-1]) if gaps else None,
        earlier_gap_days=fmean(gaps[:-1]) if len(gaps) > 1 else None,
    )


def silence_due(rfm: Rfm, silence: Silence) -> datetime | None:
    """When this customer goes silent if they buy nothing more.

    The fixed threshold, or sooner for a customer with a rhythm of their own: a
    weekly buyer is overdue after a few weeks, long before a yearly one.
    """
    if rfm.last_purchase_at is None:
        return None
    days = silence.silent_after_days
    if rfm.usual_gap_days and rfm.occasions >= silence.adaptive_min_occasions:
        days = min(days, max(1.0, rfm.usual_gap_days) * silence.adaptive_gap_multiple)
    return rfm.last_purchase_at + timedelta(days=days)


def churn_due(rfm: Rfm, silence: Silence) -> datetime | None:
    """When this customer is churned if they buy nothing more."""
    if rfm.last_purchase_at is None:
        return None
    return rfm.last_purchase_at + timedelta(days=silence.churned_after_days)


def orders_within(purchases: Iterable[Purchase], end: datetime, days: float) -> int:
    """Paid orders in the ``days`` before ``end`` (the loyal guard's window)."""
    start = end - timedelta(days=days)
    return sum(1 for p in purchases if p.paid and start < p.at <= end)


def frequency_declining(rfm: Rfm) -> bool:
    """The latest gap is clearly longer than the customer's earlier rhythm."""
    if rfm.last_gap_days is None or not rfm.earlier_gap_days:
        return False
    return rfm.last_gap_days > 1.5 * rfm.earlier_gap_days
