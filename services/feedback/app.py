"""The feedback service: surveys, invitations and complaints with SLA and escalation."""

from __future__ import annotations

from collections.abc import Awaitable

from services.feedback import api, handlers, privacy, survey_api
from services.feedback.settings import FeedbackSettings
from services.feedback.sweep import Sweeper, sweep_due
from services.feedback.tables import inbox, outbox, parked
from shared import sweeps, topics
from shared.contracts.feedback import FeedbackSweep
from shared.erasure import erasure_subscription, export_router
from shared.parking import Parking, expiry_job, parking_of
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.subscription import Subscription
from shared.sweeps import Swept

FeedbackRuntime = Runtime[FeedbackSettings, None]


CONSUMED = {
    "feedback-activity": (topics.ACTIVITY, handlers.FROM_ACTIVITY),
    "feedback-lifecycle": (topics.LIFECYCLE, handlers.FROM_LIFECYCLE),
    "feedback-profile": (topics.PROFILE, handlers.FROM_PROFILE),
}


def parking(runtime: FeedbackRuntime) -> Parking:
    """Resolutions that came before their complaint."""
    return parking_of(parked, "feedback", runtime)


def subscriptions(runtime: FeedbackRuntime) -> list[Subscription]:
    config, early = runtime.settings.config, parking(runtime)
    return [
        Subscription(
            group=group,
            topics=(topic,),
            applies=payloads,
            handler=lambda uow, batch: handlers.record_feedback(uow, batch, config, early),
        )
        for group, (topic, payloads) in CONSUMED.items()
    ] + [erasure_subscription("feedback", privacy.erase, runtime.clock)]


def sweep(runtime: FeedbackRuntime, tenant: str | None = None) -> Awaitable[Swept]:
    """The invitations to send or lapse and the complaints to escalate now, of ``tenant``
    (None: every tenant)."""
    settings = runtime.settings
    sweeper = Sweeper(settings.config, settings.feedback_sweep_batch, settings.answer_secret)
    return sweep_due(runtime.db, sweeper, tenant)


def jobs(runtime: FeedbackRuntime) -> list[Job]:
    every = runtime.settings.feedback_sweep_seconds
    return [
        sweeps.periodic("feedback-sweep", every, lambda: sweep(runtime)),
        expiry_job(parking(runtime), runtime),
    ]


SERVICE: ServiceDefinition[FeedbackSettings, None] = ServiceDefinition(
    name="feedback",
    title="CRM feedback service",
    outbox=outbox,
    inbox=inbox,
    routers=[
        api.router,
        survey_api.router,
        export_router("feedback", privacy.export),
        sweeps.sweep_router(
            "/feedback/sweep",
            sweep,
            FeedbackSweep,
            "the invitations to send, suppress or lapse and the complaints to escalate",
        ),
    ],
    subscriptions=subscriptions,
    jobs=jobs,
    settings=FeedbackSettings,
)
