"""The profile service: identities, merge candidates and merges, the customer 360.

Two consumer groups: ``profile-inbound`` resolves partners' references to
customers (owned state) and re-publishes the activity; ``profile-view`` alone
folds the customer 360 from the topics (merges included, from crm.profile), so
the 360 is a read model that ``python -m services.profile.rebuild`` can rebuild
from them. Operators decide merge candidates over HTTP (``merge_api``).
"""

from __future__ import annotations

from collections.abc import Awaitable

from services.profile import (
    api,
    customer_merge_api,
    handlers,
    merge_api,
    names_api,
    privacy_api,
    record_api,
    segment_api,
    segmenting,
    subject_keys,
)
from services.profile.tables import inbox, outbox, parked
from shared import sweeps, topics
from shared.contracts.segments import SegmentSweep
from shared.parking import Parking, expiry_job, parking_of
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.settings import ServiceSettings
from shared.subscription import Subscription
from shared.sweeps import Swept

VIEW_GROUP = "profile-view"
VIEW_TOPICS = (topics.ACTIVITY, topics.PROFILE, topics.LIFECYCLE, topics.LOYALTY, topics.FEEDBACK)


def parking(runtime: Runtime[ServiceSettings, None]) -> Parking:
    """Refunds that came before their purchase, waiting to be folded into the 360."""
    return parking_of(parked, "profile", runtime)


def sweep(runtime: Runtime[ServiceSettings, None], tenant: str | None = None) -> Awaitable[Swept]:
    """The segment evaluations due now (window edges, saved segments) of ``tenant``."""
    return segmenting.sweep(runtime.db, runtime.clock, tenant=tenant)


def jobs(runtime: Runtime[ServiceSettings, None]) -> list[Job]:
    every = runtime.settings.segment_sweep_seconds
    return [
        expiry_job(parking(runtime), runtime),
        sweeps.periodic("segment-sweep", every, lambda: sweep(runtime)),
    ]


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
    routers=[
        customer_merge_api.router,  # before api: /customers/merges is no customer id
        api.router,
        merge_api.router,
        record_api.router,
        names_api.router,
        privacy_api.router,
        segment_api.router,
        subject_keys.router,
        sweeps.sweep_router("/segments/sweep", sweep, SegmentSweep, "the segment evaluations"),
    ],
    subscriptions=subscriptions,
    jobs=jobs,
)
