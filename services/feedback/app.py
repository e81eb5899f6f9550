"""The feedback service: surveys and complaints."""

from __future__ import annotations

from services.feedback import handlers
from services.feedback.tables import inbox, outbox
from shared import topics
from shared.app import Runtime, ServiceDefinition
from shared.consumer import Subscription


def subscriptions(_: Runtime) -> list[Subscription]:
    return [
        Subscription(
            group="feedback-activity",
            topics=(topics.ACTIVITY,),
            types=frozenset(
                {
                    "crm.activity.complaint_filed.v1",
                    "crm.activity.complaint_resolved.v1",
                    "crm.activity.survey_responded.v1",
                }
            ),
            handler=handlers.record_feedback,
        )
    ]


SERVICE = ServiceDefinition(
    name="feedback",
    title="CRM feedback service",
    outbox=outbox,
    inbox=inbox,
    subscriptions=subscriptions,
)
