"""Profile's 360 consumer on the fast tier: the customer 360 folds what every service
announces, a merged customer answers with its survivor's 360 (purchases summed, in
whatever order the fold meets the merge), the same event twice counts once, and an
event of a version it does not know is dead-lettered while the others it ignores."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.profile import merges, views
from services.profile.tables import merge_candidate
from shared.contracts.customers import Customer360
from shared.events import CloudEvent, encode
from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.events.feedback import (
    ComplaintOpened,
    PreferredChannelChanged,
    SurveyAnswered,
    SurveyInvited,
)
from shared.events.lifecycle import (
    ChurnRiskChanged,
    RiskReason,
    StageCause,
    StageChanged,
    ValueClassChanged,
)
from shared.events.loyalty import PointsEarned, TierChanged
from shared.events.profile import CustomersMerged
from tests.handlers.bench import LI, NOW, TENANT, Bench, event, inbound

VIEW = "profile-view"
HOUR = timedelta(hours=1)


async def known(bench: Bench, *posted: CloudEvent) -> list[uuid.UUID]:
    """Resolve partners' events to customers, then fold the activity profile re-published,
    as production does; the customers, in the order of ``posted``."""
    await bench.consume("profile-inbound", *posted)
    await bench.consume(VIEW, *await bench.published(PurchaseCompleted))
    found = [await views.find_by_reference(bench.engine, TENANT, *_ref(e)) for e in posted]
    assert all(found)
    return [f for f in found if f]


def _ref(posted: CloudEvent) -> tuple[str, str]:
    customer = posted.data["customer"]
    return customer["source"], customer["external_id"]


async def view(bench: Bench, customer: uuid.UUID) -> Customer360:
    found = await views.customer_360(bench.engine, TENANT, customer)
    assert found is not None
    return found


async def test_the_360_folds_what_every_service_announces(bench_of):
    profile = await bench_of("profile")
    [li] = await known(profile, inbound("pos", "O-1", source="pos", external_id="C-1"))
    risk = ChurnRiskChanged(score=40, level="medium", at=NOW, reasons=[
        RiskReason(code="open_complaint", weight=25, detail="Open complaints: 1 critical."),
    ])  # fmt: skip
    announced = [
        StageChanged(**{"to": "new_customer"}, at=NOW, cause=StageCause(kind="event", ref="x")),
        risk,
        PointsEarned(balance_after=10, pending_after=0, tier="member", entry_id="e-1", points=10,
                     order_id="O-1", rule="base", at=NOW),
        TierChanged(from_tier="member", to_tier="silver", cause="order:O-1", at=NOW),
        ComplaintOpened(complaint_id="c-1", complaint_ref="T-1", severity="critical",
                        category="fraud", opened_at=NOW, due_at=NOW, open_complaints=1),
        SurveyAnswered(survey="nps", score=3, category="detractor", at=NOW),
        OrderRefunded(order_id="O-1", amount_minor=400, currency="EUR"),
    ]  # fmt: skip

    await profile.consume(VIEW, *(event(p, li, NOW + HOUR) for p in announced))

    found = await view(profile, li)
    assert found.churn_risk is not None
    stage_risk_tier = (found.stage, found.churn_risk.level, found.loyalty.tier)
    assert stage_risk_tier == ("new_customer", "medium", "silver")
    assert found.churn_risk.reasons[0].code == "open_complaint"
    loyalty, feedback, stats = found.loyalty, found.feedback, found.stats
    assert (loyalty.points_balance, feedback.open_complaints, feedback.last_nps) == (10, 1, 3)
    assert (stats.orders, stats.revenue_minor, stats.currency) == (1, 600, "EUR")


async def test_the_360_follows_the_value_class_and_counts_win_backs(bench_of):
    profile = await bench_of("profile")
    [li] = await known(profile, inbound("pos", "O-1", source="pos", external_id="C-1"))
    timer = StageCause(kind="timer", ref="churn")
    announced = [
        ValueClassChanged(to_class="C", clv_minor=1200, currency="EUR", at=NOW),
        StageChanged(**{"from": "active", "to": "churned"}, at=NOW, cause=timer),
        StageChanged(**{"from": "churned", "to": "active"}, at=NOW, cause=timer, reactivation=True),
        ValueClassChanged(from_class="C", to_class="A", clv_minor=98_000, currency="EUR", at=NOW),
    ]

    await profile.consume(VIEW, *(event(p, li, NOW + k * HOUR) for k, p in enumerate(announced)))

    found = await view(profile, li)
    assert found.value is not None
    assert (found.value.value_class, found.value.clv_minor, found.value.currency) == (
        "A",
        98_000,
        "EUR",
    )
    assert found.reactivations == 1


async def test_the_same_purchase_twice_counts_once(bench_of):
    profile = await bench_of("profile")
    [li] = await known(profile, inbound("pos", "O-1", source="pos", external_id="C-1"))
    [purchase] = await profile.published(PurchaseCompleted)

    await profile.consume(VIEW, purchase, purchase)

    found = await view(profile, li)
    assert (found.stats.orders, found.stats.revenue_minor) == (1, 1000)


async def _merged(profile: Bench) -> tuple[uuid.UUID, uuid.UUID, list[CloudEvent]]:
    """Two customers sharing an e-mail, the candidate confirmed; their activity and the
    merge as profile published them, not yet folded."""
    await profile.consume(
        "profile-inbound",
        inbound("pos", "O-1", source="pos", external_id="C-1", email=LI, name="Li"),
        inbound("shop", "S-1", source="shop", external_id="S-1", email=LI),
        inbound("shop", "S-2", source="shop", external_id="S-1"),
    )
    [candidate] = await profile.rows(merge_candidate, tenant_id=TENANT)
    await merges.decide(profile.runtime.db, TENANT, candidate["candidate_id"], "confirm",
                        decided_by="operator", reason="same person")  # fmt: skip
    [merge] = await profile.published(CustomersMerged)
    survivor, merged = (uuid.UUID(merge.data[k]) for k in ("survivor_id", "merged_id"))
    return survivor, merged, await profile.published(PurchaseCompleted, CustomersMerged)


async def test_a_merged_customer_answers_with_the_survivors_360_and_purchases_add_up(bench_of):
    profile = await bench_of("profile")
    survivor, merged, published = await _merged(profile)

    await profile.consume(VIEW, *published)

    found = await view(profile, merged)
    assert found.customer_id == survivor and found.name == "Li"
    assert (found.stats.orders, found.stats.revenue_minor) == (3, 3000)
    assert await view(profile, survivor) == found


async def test_the_merge_folds_the_same_whichever_comes_first(bench_of):
    """A rebuild meets the merge and the purchases in another order than the live fold."""
    merge_first, merge_last = await bench_of("profile"), await bench_of("profile")
    folded = []
    for profile, first in ((merge_first, True), (merge_last, False)):
        _, merged, published = await _merged(profile)
        merge = [e for e in published if e.type.startswith("crm.profile.")]
        activity = [e for e in published if e not in merge]
        for events in (merge, activity) if first else (activity, merge):
            await profile.consume(VIEW, *events)
        folded.append(await view(profile, merged))

    assert folded[0].stats.orders == folded[1].stats.orders == 3
    assert folded[0].stats.revenue_minor == folded[1].stats.revenue_minor == 3000


async def test_an_unknown_version_is_dead_lettered_and_an_event_the_360_does_not_need_ignored(
    bench_of,
):
    profile = await bench_of("profile")
    [li] = await known(profile, inbound("pos", "O-1", source="pos", external_id="C-1"))
    staged = StageChanged(**{"to": "active"}, at=NOW, cause=StageCause(kind="event", ref="x"))
    newer = encode(event(staged, li)).replace(b"stage_changed.v1", b"stage_changed.v9")
    invited = SurveyInvited(invitation_id="i-1", survey="csat", invited_at=NOW,
                            expires_at=NOW + HOUR)  # fmt: skip

    await profile.consume(VIEW, newer, event(invited, li))

    [dead] = profile.dead_letters()
    assert dead.value == newer
    assert dead.header("crm-error") == "profile does not support crm.lifecycle.stage_changed.v9"
    assert (await view(profile, li)).stage is None


async def test_the_360_shows_the_preferred_channel_feedback_announces(bench_of):
    profile = await bench_of("profile")
    [li] = await known(profile, inbound("pos", "O-1", source="pos", external_id="C-1"))
    announced = [
        PreferredChannelChanged(channel="web", at=NOW),
        PreferredChannelChanged(channel="store", previous="web", at=NOW + HOUR),
    ]

    await profile.consume(VIEW, *(event(p, li, NOW + k * HOUR) for k, p in enumerate(announced)))

    assert (await view(profile, li)).preferred_channel == "store"
