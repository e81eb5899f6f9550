"""Webhook routes (scope ``admin``, the caller's tenant only): subscribe, list, read,
unsubscribe, enable again, the delivery log and the replay of a delivery. Thin: each
parses, calls one function of ``subscriptions`` and maps its answer or its refusal."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from services.gateway import audit
from services.gateway.auth import Admin, failures
from services.gateway.links import link, links
from services.gateway.runtime import RuntimeDep
from services.gateway.webhooks import hosts, store, subscriptions
from services.gateway.webhooks.models import (
    CreatedWebhook,
    DeliveryLimit,
    DeliveryPage,
    DeliveryStatus,
    NewWebhook,
    Webhook,
    WebhookCursor,
    WebhookDelivery,
    WebhookLimit,
    WebhookPage,
)
from shared.contracts.query import Id
from shared.cursors import decode_keyset, encode_keyset
from shared.problems import Problem

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
_ONE = "/v1/webhooks/{webhook_id}"


def _webhook_links(status: int, webhook_id: str) -> dict[str, Any]:
    return links(
        status,
        Deliveries=link(f"{_ONE}/deliveries", "get", webhook_id=webhook_id),
        Unsubscribe=link(_ONE, "delete", webhook_id=webhook_id),
    )


@router.post(
    "",
    status_code=201,
    responses=failures(400, 409, 413),
    openapi_extra=_webhook_links(201, "$response.body#/webhook_id"),
)
async def create_webhook(body: NewWebhook, runtime: RuntimeDep, caller: Admin) -> CreatedWebhook:
    """Subscribe a URL to event types of the catalogue ('*' for all); the answer carries
    the Standard Webhooks signing secret (whsec_…) once: keep it to verify deliveries."""
    command = subscriptions.Subscribe(
        caller.tenant_id, f"api-key:{caller.key_id}", body.url, body.event_types, body.description
    )
    try:
        created, secret = await subscriptions.subscribe(
            runtime.db, runtime.settings, command, runtime.clock.now()
        )
    except hosts.Refused as refused:
        raise Problem(422, "webhook-url-refused", str(refused)) from None
    except subscriptions.NotConfigured:
        raise Problem(
            422,
            "signing-not-configured",
            "Set CRM_SIGNING_MASTER_KEY (32+ characters): webhook secrets derive from it.",
        ) from None
    except subscriptions.TooMany:
        limit = runtime.settings.webhook_max_subscriptions
        raise Problem(
            409,
            "too-many-webhooks",
            f"A tenant has at most {limit} webhook subscriptions; delete one you no longer use.",
        ) from None
    view = _view(created)
    decision = audit.Decision("webhook.created", f"webhook:{view.webhook_id}", after=view)
    await audit.record(runtime.db, caller, decision)
    return CreatedWebhook(**view.model_dump(), secret=secret)


@router.get(
    "",
    responses=failures(),
    openapi_extra=_webhook_links(200, "$response.body#/webhooks/0/webhook_id"),
)
async def list_webhooks(
    runtime: RuntimeDep, caller: Admin, limit: WebhookLimit = 50, cursor: WebhookCursor = None
) -> WebhookPage:
    """The tenant's subscriptions, oldest first (never a secret)."""
    after = decode_keyset(cursor) if cursor else None
    async with runtime.db.engine.connect() as conn:
        rows = await store.subscriptions(conn, caller.tenant_id, limit + 1, after)
    page = rows[:limit]
    last = page[-1] if len(rows) > limit else None
    following = encode_keyset(last.created_at, last.subscription_id) if last else None
    return WebhookPage(webhooks=[_view(row) for row in page], next_cursor=following)


@router.get("/{webhook_id}", responses=failures(404))
async def get_webhook(webhook_id: Id, runtime: RuntimeDep, caller: Admin) -> Webhook:
    """One subscription: its status, and why it was disabled if it was."""
    try:
        return _view(await subscriptions.find(runtime.db, caller.tenant_id, webhook_id))
    except subscriptions.NoSuchWebhook:
        raise _no_such_webhook(webhook_id) from None


@router.delete("/{webhook_id}", status_code=204, responses=failures(404))
async def delete_webhook(webhook_id: Id, runtime: RuntimeDep, caller: Admin) -> Response:
    """Unsubscribe: nothing more is sent, pending deliveries included; the log goes too."""
    try:
        await subscriptions.unsubscribe(runtime.db, caller.tenant_id, webhook_id)
    except subscriptions.NoSuchWebhook:
        raise _no_such_webhook(webhook_id) from None
    await audit.record(
        runtime.db, caller, audit.Decision("webhook.deleted", f"webhook:{webhook_id}")
    )
    return Response(status_code=204)


@router.post("/{webhook_id}/enable", responses=failures(404))
async def enable_webhook(webhook_id: Id, runtime: RuntimeDep, caller: Admin) -> Webhook:
    """Deliver to a disabled subscription again (replay its failed deliveries after)."""
    try:
        view = _view(await subscriptions.enable(runtime.db, caller.tenant_id, webhook_id))
    except subscriptions.NoSuchWebhook:
        raise _no_such_webhook(webhook_id) from None
    decision = audit.Decision("webhook.enabled", f"webhook:{webhook_id}", after=view)
    await audit.record(runtime.db, caller, decision)
    return view


@router.get("/{webhook_id}/deliveries", responses=failures(404))
async def list_deliveries(
    webhook_id: Id,
    runtime: RuntimeDep,
    caller: Admin,
    status: DeliveryStatus = None,
    limit: DeliveryLimit = 50,
    cursor: WebhookCursor = None,
) -> DeliveryPage:
    """The subscription's delivery log, newest first: each event's status, attempts and
    the receiver's last answer."""
    before = decode_keyset(cursor) if cursor else None
    try:
        rows = await subscriptions.deliveries(
            runtime.db, caller.tenant_id, webhook_id, status, limit + 1, before
        )
    except subscriptions.NoSuchWebhook:
        raise _no_such_webhook(webhook_id) from None
    page = rows[:limit]
    last = page[-1] if len(rows) > limit else None
    following = encode_keyset(last.created_at, last.delivery_id) if last else None
    return DeliveryPage(deliveries=[_delivery(row) for row in page], next_cursor=following)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    responses=failures(404, 409),
)
async def replay_delivery(
    webhook_id: Id, delivery_id: Id, runtime: RuntimeDep, caller: Admin
) -> WebhookDelivery:
    """Send a delivered or failed delivery again, with the same webhook-id (the event's
    id), from a fresh round of attempts."""
    try:
        replayed = await subscriptions.replay(
            runtime.db, caller.tenant_id, webhook_id, delivery_id, runtime.clock.now()
        )
    except subscriptions.NoSuchWebhook:
        raise Problem(
            404, "delivery-not-found", f"No delivery {delivery_id} of webhook {webhook_id}."
        ) from None
    except subscriptions.NotReplayable as refused:
        raise Problem(409, "delivery-not-replayable", str(refused)) from None
    runtime.resources.webhooks.wake()
    decision = audit.Decision(
        "webhook.replayed", f"webhook:{webhook_id}", after={"delivery_id": delivery_id}
    )
    await audit.record(runtime.db, caller, decision)
    return _delivery(replayed)


def _view(row: store.Subscription) -> Webhook:
    return Webhook(
        webhook_id=row.subscription_id,
        url=row.url,
        event_types=row.event_types,
        description=row.description,
        status="active" if row.disabled_at is None else "disabled",
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        last_success_at=row.last_success_at,
    )


def _delivery(row: store.Delivery) -> WebhookDelivery:
    fields = {
        k: v for k, v in row.__dict__.items() if k not in ("subscription_id", "round_started_at")
    }
    return WebhookDelivery(webhook_id=row.subscription_id, **fields)


def _no_such_webhook(webhook_id: uuid.UUID) -> Problem:
    return Problem(
        404, "webhook-not-found", f"No webhook subscription {webhook_id} in your tenant."
    )
