"""The feedback service: surveys, invitations and complaints with SLA and escalation."""

from __future__ import annotations

from functools import partial
from typing import cast

from services.feedback import api, handlers
from services.feedback.settings import FeedbackSettings
from services.feedback.sweep import sweep_and_report
from services.feedback.tables import inbox, outbox
from shared import topics
from shared.app import Job, Runtime, ServiceDefinition
from shared.consumer import Subscription
from shared.jobs import Periodic


def subscriptions(runtime: Runtime) -> list[Subscription]:
    config = cast(FeedbackSettings, runtime.settings).config
    return [
        Subscription(
            group="feedback-activity",
            topics=(topics.ACTIVITY,),
            applies=handlers.APPLIES,
            handler=lambda uow, batch: handlers.record_feedback(uow, batch, config),
        )
    ]


def jobs(runtime: Runtime) -> list[Job]:
    settings = cast(FeedbackSettings, runtime.settings)
    sweep = partial(sweep_and_report, runtime.db, settings.config, settings.feedback_sweep_batch)
    return [Periodic("feedback-sweep", settings.feedback_sweep_seconds, sweep)]


SERVICE = ServiceDefinition(
    name="feedback",
    title="CRM feedback service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router],
    subscriptions=subscriptions,
    jobs=jobs,
    settings=FeedbackSettings,
)
