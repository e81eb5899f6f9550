"""The profile service: identities, merge candidates and merges, the customer 360.

Two consumer groups: ``profile-inbound`` resolves partners' references to
customers (owned state) and re-publishes the activity; ``profile-view`` alone
folds the customer 360 from the topics (merges included, from crm.profile), so
the 360 is a read model that ``python -m services.profile.rebuild`` can rebuild
from them. Operators decide merge candidates over HTTP (``merge_api``).
"""

from __future__ import annotations

from services.profile import api, customer_merge_api, handlers, merge_api, record_api
from services.profile.tables import inbox, outbox, parked
from shared import topics
from shared.parking import Parking, expiry_job, parking_of
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.settings import ServiceSettings
from shared.subscription import Subscription

VIEW_GROUP = "profile-view"
VIEW_TOPICS = (topics.ACTIVITY, topics.PROFILE, topics.LIFECYCLE, topics.LOYALTY, topics.FEEDBACK)


def parking(runtime: Runtime[ServiceSettings, None]) -> Parking:
    """Refunds that came before their purchase, waiting to be folded into the 360."""
    return parking_of(parked, "profile", runtime)


def jobs(runtime: Runtime[ServiceSettings, None]) -> list[Job]:
    return [expiry_job(parking(runtime), runtime)]


def subscriptions(runtime: Runtime[ServiceSettings, None]) -> list[Subscription]:
    clock, early = runtime.clock, parking(runtime)
    return [
        Subscription(
            group="profile-inbound",
            topics=(topics.INBOUND,),
            applies=handlers.RESOLVED,
            handler=lambda uow, batch: handlers.resolve_inbound(uow, batch, clock),
        ),
        Subscription(
            group=VIEW_GROUP,
            topics=VIEW_TOPICS,
            applies=handlers.FOLDED,
            handler=lambda uow, batch: handlers.fold_into_view(uow, batch, clock, early),
        ),
    ]


SERVICE: ServiceDefinition[ServiceSettings, None] = ServiceDefinition(
    name="profile",
    title="CRM profile service",
    outbox=outbox,
    inbox=inbox,
    settings=ServiceSettings,
    routers=[customer_merge_api.router, api.router, merge_api.router, record_api.router],
    subscriptions=subscriptions,
    jobs=jobs,
)
