"""The profile service: identities, merge candidates and merges, the customer 360.

Two consumer groups: ``profile-inbound`` resolves partners' references to
customers (owned state) and re-publishes the activity; ``profile-view`` alone
folds the customer 360 from the topics (merges included, from crm.profile), so
the 360 is a read model that ``python -m services.profile.rebuild`` can rebuild
from them. Operators decide merge candidates over HTTP (``merge_api``).
"""

from __future__ import annotations

from services.profile import api, handlers, merge_api
from services.profile.tables import inbox, outbox
from shared import topics
from shared.app import Runtime, ServiceDefinition
from shared.consumer import Subscription
from shared.events import REGISTRY

VIEW_TYPES = frozenset(
    {
        "crm.activity.purchase_completed.v1",
        "crm.activity.order_refunded.v1",
        "crm.lifecycle.stage_changed.v1",
        "crm.lifecycle.churn_risk_changed.v1",
        "crm.loyalty.points_earned.v1",
        "crm.loyalty.tier_changed.v1",
        "crm.loyalty.points_pending.v1",
        "crm.loyalty.points_reversed.v1",
        "crm.loyalty.points_redeemed.v1",
        "crm.loyalty.points_expired.v1",
        "crm.loyalty.points_adjusted.v1",
        "crm.feedback.complaint_opened.v1",
        "crm.feedback.complaint_resolved.v1",
        "crm.feedback.survey_answered.v1",
        "crm.profile.customers_merged.v1",
    }
)


VIEW_GROUP = "profile-view"
VIEW_TOPICS = (topics.ACTIVITY, topics.PROFILE, topics.LIFECYCLE, topics.LOYALTY, topics.FEEDBACK)


def subscriptions(runtime: Runtime) -> list[Subscription]:
    inbound_types = frozenset(t.type for t in REGISTRY if t.topic == topics.INBOUND)
    clock = runtime.clock
    return [
        Subscription(
            group="profile-inbound",
            topics=(topics.INBOUND,),
            types=inbound_types,
            handler=lambda uow, batch: handlers.resolve_inbound(uow, batch, clock),
        ),
        Subscription(
            group=VIEW_GROUP,
            topics=VIEW_TOPICS,
            types=VIEW_TYPES,
            handler=lambda uow, batch: handlers.fold_into_view(uow, batch, clock),
        ),
    ]


SERVICE = ServiceDefinition(
    name="profile",
    title="CRM profile service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router, merge_api.router],
    subscriptions=subscriptions,
)
