"""The feedback service: surveys, invitations and complaints with SLA and escalation."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from services.feedback import analytics_api, api, decisions, handlers, privacy, survey_api
from services.feedback.domain.config import parse_config
from services.feedback.resources import FeedbackResources, FeedbackRuntime, policies_of
from services.feedback.settings import FeedbackSettings
from services.feedback.sweep import Sweeper, sweep_due
from services.feedback.tables import inbox, outbox, parked, tenant_rules
from services.replay_jobs import replays_router
from shared import sweeps, topics
from shared.contracts.feedback import FeedbackSweep
from shared.erasure import erasure_subscription, export_router
from shared.events.activity import ComplaintFiled, ComplaintResolved, SurveyResponded
from shared.keyring import key_ring, open_batch
from shared.parking import Parking, expiry_job, parking_of
from shared.rulebook import Rulebook
from shared.rules_api import rules_router
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.subscription import BatchHandler, Received, Subscription, by_tenant
from shared.sweeps import Swept
from shared.uow import UnitOfWork

# The sealed texts feedback keeps: complaints', answers' and partners' resolutions (v2;
# a v1 resolution is in the clear) (``shared.sealing``).
SEALED = (ComplaintFiled, SurveyResponded, ComplaintResolved)
DESK = "feedback-desk"  # a rebuild's group only: no service runs it

CONSUMED = {
    "feedback-activity": (topics.ACTIVITY, handlers.FROM_ACTIVITY),
    "feedback-lifecycle": (topics.LIFECYCLE, handlers.FROM_LIFECYCLE),
    "feedback-profile": (topics.PROFILE, handlers.FROM_PROFILE),
    "feedback-loyalty": (topics.LOYALTY, handlers.FROM_LOYALTY),
}


def parking(runtime: FeedbackRuntime) -> Parking:
    """Resolutions that came before their complaint."""
    return parking_of(parked, "feedback", runtime)


def opened_by(
    profile: httpx.AsyncBaseTransport | None,
) -> Callable[[Runtime[FeedbackSettings, None]], AbstractAsyncContextManager[FeedbackResources]]:
    """The lifespan's resources; ``profile`` reaches profile in-process (embedded mode)."""

    @contextlib.asynccontextmanager
    async def resources(
        runtime: Runtime[FeedbackSettings, None],
    ) -> AsyncIterator[FeedbackResources]:
        """Each tenant's feedback policy (its own, set through the API, else the
        installation's), and the key ring for sealed texts."""
        settings = runtime.settings
        text = settings.feedback_config_file.read_text(encoding="utf-8")
        book = Rulebook(tenant_rules, settings.config, text, parse_config)
        async with runtime.db.engine.connect() as conn:
            await book.refresh(conn)
        secret = settings.internal_secret.get_secret_value() if settings.internal_secret else ""
        async with key_ring(settings.profile_base_url, secret, profile) as keys:
            yield FeedbackResources(book, keys)

    return resources


def _handler(runtime: FeedbackRuntime) -> BatchHandler:
    book, keys, early = runtime.resources.policies, runtime.resources.keys, parking(runtime)

    async def handle(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
        await book.refresh(uow.conn)  # once per batch: a rule change reaches every replica
        for tenant, events in by_tenant(batch).items():
            events = await open_batch(keys, tenant, events, SEALED)  # by one call
            opened = functools.partial(open_batch, keys, tenant, kinds=SEALED)
            await handlers.record_feedback(uow, events, book.of(tenant), early, opened)

    return handle


def subscriptions(runtime: FeedbackRuntime) -> list[Subscription]:
    handler = _handler(runtime)
    return [
        Subscription(group=group, topics=(topic,), applies=payloads, handler=handler)
        for group, (topic, payloads) in CONSUMED.items()
    ] + [erasure_subscription("feedback", privacy.erase, runtime.clock)]


def replayed(runtime: FeedbackRuntime) -> list[Subscription]:
    """What only a rebuild folds (``services.feedback.rebuild``): the desk's changes and
    resolutions and the answers posted with a token, from crm.feedback, their texts
    opened with the customers' keys (an erased customer's fold without them)."""
    book, keys = runtime.resources.policies, runtime.resources.keys

    async def handle(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
        await book.refresh(uow.conn)
        for tenant, events in by_tenant(batch).items():
            events = await open_batch(keys, tenant, events, decisions.SEALED)  # an erased: none
            await decisions.refold(uow, events, book.of(tenant))

    return [
        Subscription(
            group=DESK, topics=(topics.FEEDBACK,), applies=decisions.APPLIES, handler=handle
        )
    ]


def sweep(runtime: FeedbackRuntime, tenant: str | None = None) -> Awaitable[Swept]:
    """The invitations to send or lapse and the complaints to escalate now, of ``tenant``
    (None: every tenant)."""
    settings = runtime.settings
    sweeper = Sweeper(
        settings.config,
        settings.feedback_sweep_batch,
        settings.answer_secret,
        runtime.resources.policies,
    )
    return sweep_due(runtime.db, sweeper, tenant)


def jobs(runtime: FeedbackRuntime) -> list[Job]:
    every = runtime.settings.feedback_sweep_seconds
    return [
        sweeps.periodic("feedback-sweep", every, lambda: sweep(runtime)),
        expiry_job(parking(runtime), runtime),
    ]


def _rulebook(runtime: Runtime[Any, Any]) -> Rulebook[Any]:
    return policies_of(runtime.resources)


def definition(
    profile: httpx.AsyncBaseTransport | None = None,
) -> ServiceDefinition[FeedbackSettings, FeedbackResources]:
    """Feedback; ``profile`` reaches profile in-process (embedded mode)."""
    return ServiceDefinition(
        name="feedback",
        title="CRM feedback service",
        outbox=outbox,
        inbox=inbox,
        routers=[
            api.router,
            analytics_api.router,
            survey_api.router,
            export_router("feedback", privacy.export),
            sweeps.sweep_router(
                "/feedback/sweep",
                sweep,
                FeedbackSweep,
                "the invitations to send, suppress or lapse and the complaints to escalate",
            ),
            rules_router("feedback", _rulebook),
            replays_router("feedback", "feedback"),
        ],
        subscriptions=subscriptions,
        replayed=replayed,
        jobs=jobs,
        resources=opened_by(profile),
        settings=FeedbackSettings,
    )


SERVICE = definition()
