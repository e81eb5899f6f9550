"""A realistic purchase history to replay through the gateway, generated from a seed.

Shaped like a retailer's first 18 months: a heavy-tailed repeat-purchase process
(most customers buy once, a few dozens of times, each at a rhythm of their own),
5 % of orders partly refunded, 2 % of customers complaining (half of those
complaints resolved later), 10 % of customers answering a survey, four currencies
and three channels. Events come back in event-time order, as a business replays
its history; every event is a partner event of ``POST /v1/events``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# (currency, share of customers, typical order in minor units)
CURRENCIES = (
    ("CNY", 0.70, 25_000),
    ("EUR", 0.15, 6_000),
    ("USD", 0.10, 7_000),
    ("JPY", 0.05, 9_000),
)
CHANNELS = ("store", "web", "app")
SOURCES = {"store": "pos", "web": "shop", "app": "app"}


@dataclass
class History:
    events: list[dict[str, Any]] = field(default_factory=list)
    customers: int = 0
    orders: int = 0
    refunds: int = 0
    complaints: int = 0
    resolutions: int = 0
    answers: int = 0

    def counts(self) -> str:
        return (
            f"{len(self.events)} events: {self.orders} orders of {self.customers} customers, "
            f"{self.refunds} refunds, {self.complaints} complaints ({self.resolutions} resolved), "
            f"{self.answers} survey answers"
        )


def generate(customers: int, now: datetime, seed: int = 7, days: int = 540) -> History:
    """The history of ``customers`` customers over the ``days`` before ``now``."""
    rng = random.Random(seed)
    history = History(customers=customers)
    start = now - timedelta(days=days)
    for n in range(customers):
        _customer(rng, history, n, start, now)
    history.events.sort(key=lambda e: (e["occurred_at"], e["id"]))
    return history


def _orders_of(rng: random.Random) -> int:
    """Heavy-tailed: 55 % buy once, most of the rest a few times, 3 % dozens of times."""
    draw = rng.random()
    if draw < 0.55:
        return 1
    if draw < 0.97:
        return 2 + int(rng.expovariate(1 / 3.5))
    return 12 + int(rng.paretovariate(1.5) * 8)


def _customer(rng: random.Random, history: History, n: int, start: datetime, now: datetime) -> None:
    currency, typical = _currency(rng)
    channel = rng.choice(CHANNELS)
    ref = {"source": SOURCES[channel], "external_id": f"C{n:06d}", "name": f"Customer {n}"}
    if rng.random() < 0.7:
        ref["email"] = f"c{n:06d}@example.com"
    at = first = start + timedelta(seconds=rng.uniform(0, (now - start).total_seconds() * 0.9))
    gap_days = rng.uniform(5, 60)
    for k in range(_orders_of(rng)):
        if at >= now:
            break
        order = f"O{n:06d}-{k}"
        amount = max(100, int(rng.lognormvariate(0, 0.6) * typical))
        _add(
            history,
            "purchase.completed",
            f"p-{order}",
            at,
            ref,
            {
                "order_id": order,
                "amount_minor": amount,
                "currency": currency,
                "channel": rng.choice(CHANNELS) if rng.random() < 0.2 else channel,
            },
        )
        history.orders += 1
        if rng.random() < 0.05:
            _refund(rng, history, ref, order, amount, at, now)
        at += timedelta(days=rng.expovariate(1 / gap_days) + 0.5)
    _feedback(rng, history, ref, n, first, now)


def _currency(rng: random.Random) -> tuple[str, int]:
    draw, total = rng.random(), 0.0
    for code, share, typical in CURRENCIES:
        total += share
        if draw < total:
            return code, typical
    return CURRENCIES[0][0], CURRENCIES[0][2]


def _refund(
    rng: random.Random,
    history: History,
    ref: dict[str, Any],
    order: str,
    amount: int,
    at: datetime,
    now: datetime,
) -> None:
    when = at + timedelta(days=rng.uniform(1, 20))
    if when < now:
        part = max(1, int(amount * rng.uniform(0.1, 0.6)))
        _add(
            history,
            "order.refunded",
            f"r-{order}",
            when,
            ref,
            {"order_id": order, "amount_minor": part},
        )
        history.refunds += 1


def _feedback(
    rng: random.Random,
    history: History,
    ref: dict[str, Any],
    n: int,
    lower: datetime,
    now: datetime,
) -> None:
    """Complaints and survey answers come after the customer's first order."""
    if rng.random() < 0.02:
        filed = lower + (now - lower) * rng.random() * 0.8
        complaint = f"T{n:06d}"
        _add(
            history,
            "complaint.filed",
            f"c-{complaint}",
            filed,
            ref,
            {
                "complaint_ref": complaint,
                "severity": rng.choice(["low", "medium", "high"]),
                "category": "delivery",
                "channel": "phone",
                "text": "The parcel came late.",
            },
        )
        history.complaints += 1
        resolved = filed + timedelta(hours=rng.uniform(1, 96))
        if rng.random() < 0.5 and resolved < now:
            _add(
                history,
                "complaint.resolved",
                f"cr-{complaint}",
                resolved,
                ref,
                {"complaint_ref": complaint, "resolution": "Apologised and refunded shipping."},
            )
            history.resolutions += 1
    if rng.random() < 0.10:
        answered = lower + (now - lower) * rng.random() * 0.9
        survey = rng.choice(["nps", "csat"])
        score = rng.randint(0, 10) if survey == "nps" else rng.randint(1, 5)
        _add(
            history,
            "survey.responded",
            f"s-{n:06d}",
            answered,
            ref,
            {"survey": survey, "score": score},
        )
        history.answers += 1


def _add(
    history: History,
    kind: str,
    event_id: str,
    at: datetime,
    ref: dict[str, Any],
    data: dict[str, Any],
) -> None:
    history.events.append(
        {"id": event_id, "type": kind, "occurred_at": at.isoformat(), "customer": ref, "data": data}
    )
