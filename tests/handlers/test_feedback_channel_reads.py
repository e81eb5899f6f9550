"""Channel analytics' reshaped read (one pass per customer and channel, hash joins)
answers exactly what the old read answered (``channel_oracle``), on the fast tier: a
random history of several tenants (orders in several channels and currencies, some at
midnight, some delivered twice under new event ids, answers, complaints, consent
decisions, merges and their undos, batches of mixed events) is consumed as it would be
live, then for random windows (part-days, whole days, within a day, empty, other
offsets) every figure matches."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.feedback import channels
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.envelope import CloudEvent
from shared.events.profile import ConsentChanged, CustomersMerged, CustomersUnmerged
from tests.handlers.bench import Bench, event
from tests.handlers.channel_oracle import old_channel_figures, random_windows

ACTIVITY, PROFILE = "feedback-activity", "feedback-profile"
START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 20
TENANTS = ("t-north", "t-south", "t-east")
CHANNELS = ("web", "app", "store", "email", "sms")
CURRENCIES = ("EUR", "USD", "JPY")


class History:
    """A random history, handed out batch by batch."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people = {t: [self._id() for _ in range(10)] for t in TENANTS}
        self.orders: list[tuple[str, uuid.UUID, str]] = []
        self.merges: list[tuple[str, uuid.UUID, uuid.UUID, uuid.UUID]] = []

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128))

    def _at(self) -> datetime:
        day = START + timedelta(days=self.rng.randrange(DAYS))
        if self.rng.random() < 0.15:
            return day  # midnight: the first instant of its day
        return day + timedelta(
            seconds=self.rng.randrange(86400), microseconds=self.rng.randrange(10**6)
        )

    def activity(self) -> list[CloudEvent]:
        """Purchases (some again, under a new event id), answers and complaints."""
        rng, found = self.rng, []
        for _ in range(rng.randrange(5, 40)):
            tenant = rng.choice(TENANTS)
            who = rng.choice(self.people[tenant])
            kind = rng.random()
            if kind < 0.1 and self.orders:
                tenant, who, order = rng.choice(self.orders)
                found.append(self._purchase(tenant, who, order))
            elif kind < 0.6:
                order = f"O-{rng.randrange(10**6)}"
                self.orders.append((tenant, who, order))
                found.append(self._purchase(tenant, who, order))
            elif kind < 0.85:
                survey = rng.choice(["nps", "nps", "csat"])
                score = rng.randrange(11) if survey == "nps" else rng.randrange(1, 6)
                channel = rng.choice([*CHANNELS, None])
                answer = SurveyResponded(survey=survey, score=score, channel=channel)
                found.append(event(answer, who, self._at(), tenant=tenant))
            else:
                filed = ComplaintFiled(
                    complaint_ref=f"K-{rng.randrange(10**6)}", severity="low",
                    category="delivery", channel=rng.choice(CHANNELS),
                )  # fmt: skip
                found.append(event(filed, who, self._at(), tenant=tenant))
        return found

    def _purchase(self, tenant: str, who: uuid.UUID, order: str) -> CloudEvent:
        bought = PurchaseCompleted(
            order_id=order, amount_minor=self.rng.randrange(1, 100_000),
            currency=self.rng.choice(CURRENCIES), channel=self.rng.choice(CHANNELS[:3]),
        )  # fmt: skip
        return event(bought, who, self._at(), tenant=tenant)

    def profile(self) -> list[CloudEvent]:
        """Consent decisions, merges and undos of earlier merges."""
        rng, found = self.rng, []
        for _ in range(rng.randrange(1, 6)):
            tenant = rng.choice(TENANTS)
            who = rng.choice(self.people[tenant])
            kind = rng.random()
            if kind < 0.6:
                decided = ConsentChanged(
                    channel=rng.choice(["email", "sms"]),
                    purpose=rng.choice(["surveys", "marketing"]),
                    granted=rng.random() < 0.4, at=self._at(), source="api",
                )  # fmt: skip
                found.append(event(decided, who, self._at(), tenant=tenant))
            elif kind < 0.85:
                found.append(self._merge(tenant))
            elif self.merges:
                tenant, merge_id, survivor, other = self.merges.pop(rng.randrange(len(self.merges)))
                undone = CustomersUnmerged(
                    merge_id=str(merge_id), survivor_id=str(survivor), merged_id=str(other),
                    undone_at=START, reason="two people",
                )  # fmt: skip
                found.append(event(undone, survivor, START, tenant=tenant))
        return found

    def _merge(self, tenant: str) -> CloudEvent:
        survivor, other = self.rng.sample(self.people[tenant], 2)
        merge_id = self._id()
        self.merges.append((tenant, merge_id, survivor, other))
        merged = CustomersMerged(
            merge_id=str(merge_id), survivor_id=str(survivor), merged_id=str(other),
            decided_at=START, reason="same person",
        )  # fmt: skip
        return event(merged, survivor, START, tenant=tenant)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_read_answers_what_the_old_read_answered(bench_of, seed):
    feedback: Bench = await bench_of("feedback")
    history = History(seed)
    for _ in range(12):
        await feedback.consume(ACTIVITY, *history.activity())
        await feedback.consume(PROFILE, *history.profile())

    engine, compared = feedback.engine, 0
    for window in random_windows(history.rng, START, DAYS, 40):
        for tenant in TENANTS:
            expected = await old_channel_figures(engine, tenant, window)
            assert await channels.channel_figures(engine, tenant, window) == expected, window
            compared += bool(expected)
    assert compared > 40  # most windows held figures
