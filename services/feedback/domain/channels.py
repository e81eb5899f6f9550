"""Channel figures: what each channel brings (customers, orders, revenue per currency,
the average order) and how its customers fare (complaints, NPS, how many prefer it).
Plain Python over the counts ``services.feedback.channels`` reads.

Definitions, so two readers compute the same numbers:

- a channel's **customers** bought through it in the window; **orders** and **revenue**
  are its orders then (gross of refunds), per currency, the **average order** the
  revenue over the orders rounded to the nearest minor unit (half up);
- **complaints** were filed through it; the **complaint rate** is the share of its
  customers who filed a complaint (through any channel) in the window, so a channel
  whose buyers complain elsewhere is still seen; detractors' recovery cases (opened by
  feedback itself) are not complaints here;
- **NPS** is of the answers given through it, with its 95 % interval;
- a customer's **preferred channel** is the one where they bought and answered most in
  the window (ties: the first by name), among channels they have not withdrawn (a
  channel with consent decisions, none granted); **preferred share** is the share of
  customers with a preferred channel who prefer this one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from services.feedback.domain.surveys import Figures, scores


@dataclass
class Revenue:
    """One currency's orders and revenue through a channel."""

    currency: str
    orders: int
    revenue_minor: int

    @property
    def average_order_minor(self) -> int:
        """Revenue over orders, to the nearest minor unit (half up)."""
        return (2 * self.revenue_minor + self.orders) // (2 * self.orders)


@dataclass
class ChannelCounts:
    """What the database counted for one channel in the window."""

    customers: int = 0
    revenue: list[Revenue] = field(default_factory=list)
    complaints: int = 0
    complaining_customers: int = 0
    nps_counts: dict[int, int] = field(default_factory=dict)
    preferred_by: int = 0


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` (0..1, 4 places), None of nothing."""
    return round(part / whole, 4) if whole else None


def figures(counts: Mapping[str, ChannelCounts]) -> list[dict[str, object]]:
    """One entry per channel, by name."""
    preferring = sum(c.preferred_by for c in counts.values())
    answer = []
    for channel in sorted(counts):
        c = counts[channel]
        nps: Figures = scores({("nps", s): n for s, n in c.nps_counts.items()})["nps"]
        answer.append(
            {
                "channel": channel,
                "customers": c.customers,
                "orders": sum(r.orders for r in c.revenue),
                "revenue": [
                    {
                        "currency": r.currency,
                        "orders": r.orders,
                        "revenue_minor": r.revenue_minor,
                        "average_order_minor": r.average_order_minor,
                    }
                    for r in sorted(c.revenue, key=lambda r: r.currency)
                ],
                "complaints": c.complaints,
                "complaint_rate": share(c.complaining_customers, c.customers),
                "nps": nps,
                "preferred_by": c.preferred_by,
                "preferred_share": share(c.preferred_by, preferring),
            }
        )
    return answer


def preferred(touches: Mapping[str, int], withdrawn: Collection[str]) -> str | None:
    """The channel with the most orders and answers (ties: the first by name), among those
    not ``withdrawn``; None without any."""
    allowed = [(-n, channel) for channel, n in touches.items() if channel not in withdrawn]
    return min(allowed)[1] if allowed else None
