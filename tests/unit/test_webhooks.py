"""Webhooks' rules without I/O: signatures the official Standard Webhooks library
accepts, the retry schedule (exponential, jittered, about a day), when a subscription
is disabled, and which addresses a webhook may never reach."""

from __future__ import annotations

import ipaddress
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.gateway.settings import GatewaySettings
from services.gateway.webhooks import domain, hosts, signature
from shared.events import new_event
from shared.events.lifecycle import StageCause, StageChanged

MASTER = "m" * 40
T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_a_delivery_is_verified_by_the_official_library() -> None:
    subscription = uuid.uuid4()
    secret = signature.secret_for(MASTER, subscription)
    assert secret.startswith("whsec_")
    body = b'{"type":"crm.lifecycle.stage_changed.v1","data":{}}'
    event_id = str(uuid.uuid4())
    headers = signature.headers(secret, event_id, int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == orjson.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    other = signature.secret_for(MASTER, uuid.uuid4())
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_the_secret_is_derived_again_never_stored() -> None:
    subscription = uuid.uuid4()
    assert signature.secret_for(MASTER, subscription) == signature.secret_for(MASTER, subscription)
    assert signature.secret_for(MASTER, subscription) != signature.secret_for(
        "n" * 40, subscription
    )


def test_the_body_carries_the_event_id_type_and_data() -> None:
    customer = str(uuid.uuid4())
    event = new_event(
        StageChanged(**_stage_change()),
        source="/crm/lifecycle",
        tenant_id="acme",
        key=customer,
        subject=customer,
        time=T0,
    )
    sent = orjson.loads(domain.body(event))
    assert sent["id"] == str(event.id)
    assert sent["type"] == "crm.lifecycle.stage_changed.v1"
    assert sent["timestamp"] == "2026-11-30T09:00:00Z"
    assert sent["subject"] == customer and sent["tenant_id"] == "acme"
    assert sent["data"]["to"] == "active"


def _stage_change() -> dict[str, object]:
    cause = StageCause(kind="event", ref=str(uuid.uuid4()))
    return {"from": "new_customer", "to": "active", "at": T0, "cause": cause}


def test_the_default_schedule_spans_about_a_day() -> None:
    settings = GatewaySettings(service="gateway")
    policy = domain.RetryPolicy(
        settings.webhook_max_attempts,
        settings.webhook_retry_base_seconds,
        settings.webhook_retry_max_seconds,
    )
    waits = [policy.delay(n, 0.5) for n in range(1, policy.max_attempts)]
    assert waits[0] == timedelta(seconds=5)
    assert waits[1] == timedelta(seconds=10)
    assert max(waits) == timedelta(hours=6)
    assert timedelta(hours=20) < sum(waits, timedelta()) < timedelta(hours=30)


def test_jitter_spreads_a_retry_within_a_fifth_either_side() -> None:
    policy = domain.RetryPolicy(5, 10.0, 3600.0)
    assert policy.delay(2, 0.0) == timedelta(seconds=16)
    assert policy.delay(2, 0.999999) < timedelta(seconds=24)


def test_the_last_failed_attempt_disables_a_receiver_with_no_success_since() -> None:
    policy = domain.RetryPolicy(3, 1.0, 10.0)
    failed = domain.Attempt(status_code=500)
    now = T0 + timedelta(minutes=1)
    retry = domain.after_attempt(failed, 2, policy, now, T0, None, 0.5)
    assert retry.status == "pending" and retry.next_attempt_at == now + timedelta(seconds=2)
    last = domain.after_attempt(failed, 3, policy, now, T0, None, 0.5)
    assert last.status == "failed" and last.disable and "answered 500" in last.disable
    since = domain.after_attempt(failed, 3, policy, now, T0, T0 + timedelta(seconds=5), 0.5)
    assert since.status == "failed" and since.disable is None
    delivered = domain.after_attempt(domain.Attempt(status_code=204), 3, policy, now, T0, None, 0)
    assert delivered.status == "delivered" and delivered.disable is None


def test_a_subscription_to_every_type_gets_every_type() -> None:
    assert domain.wants(["*"], "crm.loyalty.tier_changed.v1")
    assert domain.wants(["crm.loyalty.tier_changed.v1"], "crm.loyalty.tier_changed.v1")
    assert not domain.wants(["crm.loyalty.tier_changed.v1"], "crm.loyalty.points_earned.v1")
    assert "crm.gateway.webhook_disabled.v1" in domain.TYPES
    assert not [t for t in domain.TYPES if t.startswith("crm.inbound.")]


def test_a_revised_type_reaches_the_subscribers_of_its_earlier_version() -> None:
    """The gateway writes complaint_resolved.v2 now: a receiver subscribed to v1 keeps
    getting resolutions; one subscribed to v2 alone gets no old v1 ones."""
    v1, v2 = "crm.activity.complaint_resolved.v1", "crm.activity.complaint_resolved.v2"
    assert v2 in domain.TYPES
    assert domain.wants([v1], v2) and domain.wants([v2], v2)
    assert not domain.wants([v2], v1)
    assert not domain.wants(["crm.activity.complaint_filed.v1"], v2)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_private_loopback_and_link_local_addresses_are_not_public(address: str) -> None:
    assert not hosts.is_public(ipaddress.ip_address(address))


async def test_a_private_address_is_refused_unless_its_host_is_listed() -> None:
    with pytest.raises(hosts.Refused, match="CRM_WEBHOOK_ALLOWED_HOSTS"):
        await hosts.target("http://169.254.169.254/latest/meta-data", frozenset(), 1.0)
    with pytest.raises(hosts.Refused, match="CRM_WEBHOOK_ALLOWED_HOSTS"):
        await hosts.target("http://localhost:9/hook", frozenset(), 1.0)
    listed = await hosts.target("http://127.0.0.1:9/hook", frozenset({"127.0.0.1"}), 1.0)
    assert listed.url.host == "127.0.0.1"
    public = await hosts.target("https://93.184.215.14/hook", frozenset(), 1.0)
    assert public.url.host == "93.184.215.14"


async def test_a_url_that_is_no_http_url_is_refused() -> None:
    for url in ("ftp://example.com/x", "http:///nohost", "file:///etc/passwd"):
        with pytest.raises(hosts.Refused):
            await hosts.target(url, frozenset(), 1.0)
