"""The feedback service: surveys, invitations and complaints with SLA and escalation."""

from __future__ import annotations

from functools import partial

from services.feedback import api, handlers
from services.feedback.settings import FeedbackSettings
from services.feedback.sweep import sweep_and_report
from services.feedback.tables import inbox, outbox
from shared import topics
from shared.consumer import Subscription
from shared.jobs import Periodic
from shared.runtime import Job, Runtime, ServiceDefinition

FeedbackRuntime = Runtime[FeedbackSettings, None]


def subscriptions(runtime: FeedbackRuntime) -> list[Subscription]:
    config = runtime.settings.config
    return [
        Subscription(
            group="feedback-activity",
            topics=(topics.ACTIVITY,),
            applies=handlers.APPLIES,
            handler=lambda uow, batch: handlers.record_feedback(uow, batch, config),
        )
    ]


def jobs(runtime: FeedbackRuntime) -> list[Job]:
    settings = runtime.settings
    sweep = partial(sweep_and_report, runtime.db, settings.config, settings.feedback_sweep_batch)
    return [Periodic("feedback-sweep", settings.feedback_sweep_seconds, sweep)]


SERVICE: ServiceDefinition[FeedbackSettings, None] = ServiceDefinition(
    name="feedback",
    title="CRM feedback service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router],
    subscriptions=subscriptions,
    jobs=jobs,
    settings=FeedbackSettings,
)
