"""The rest of the shared kernel: subscription verdicts, clock, settings, problems."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from shared.app import create_service_app
from shared.bus.memory import MemoryBus
from shared.clock import FrozenClock, SystemClock, clock_for
from shared.events.activity import AccountClosed, PurchaseCompleted
from shared.events.feedback import ComplaintOpened
from shared.events.payload import Payload
from shared.problems import MEDIA_TYPE, Problem, validation_problem
from shared.settings import ServiceSettings
from shared.subscription import Subscription, UnknownEventType

AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


async def _no_op(uow, batch):  # type: ignore[no-untyped-def]
    return None


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Settings read only what the test sets, whatever the developer's shell exports."""
    for name in list(os.environ):
        if name.startswith("CRM_"):
            monkeypatch.delenv(name)
    return monkeypatch


# Subscription.verdict


def _subscription() -> Subscription:
    return Subscription(
        group="lifecycle",
        topics=("crm.activity",),
        applies=(PurchaseCompleted, AccountClosed),
        handler=_no_op,
    )


@pytest.mark.parametrize(
    ("event_type", "verdict"),
    [
        ("crm.activity.purchase_completed.v1", "apply"),
        ("crm.activity.account_closed.v1", "apply"),
        ("crm.activity.purchase_completed.v2", "unsupported"),
        ("crm.activity.account_closed.v0", "unsupported"),
        ("crm.activity.survey_responded.v1", "ignore"),
        ("crm.loyalty.points_earned.v1", "ignore"),
    ],
)
def test_subscription_verdict(event_type, verdict):
    assert _subscription().verdict(event_type) == verdict


class GiftWrapped(Payload):
    """A payload nobody registered (a typo'd or forgotten event type)."""

    order_id: str


def test_a_subscription_applying_an_unregistered_payload_is_refused():
    with pytest.raises(UnknownEventType, match="GiftWrapped"):
        Subscription("lifecycle", ("crm.activity",), (PurchaseCompleted, GiftWrapped), _no_op)


def test_a_subscription_applying_a_type_of_a_topic_it_does_not_read_is_refused():
    with pytest.raises(UnknownEventType, match=r"crm\.feedback\.complaint_opened\.v1"):
        Subscription("lifecycle", ("crm.activity",), (ComplaintOpened,), _no_op)


async def test_a_service_whose_subscription_names_an_unknown_type_does_not_start(tmp_path):
    """Fails at start, not silently at the first event: the wiring is checked when the
    service builds its consumers."""
    from services.loyalty.app import SERVICE
    from services.loyalty.settings import LoyaltySettings

    miswired = dataclasses.replace(
        SERVICE,
        subscriptions=lambda _: [
            Subscription("loyalty", ("crm.activity",), (GiftWrapped,), _no_op)
        ],
    )
    database = f"sqlite+aiosqlite:///{tmp_path}/loyalty.db"
    app = create_service_app(
        miswired, LoyaltySettings(service="loyalty", database_url=database), bus=MemoryBus()
    )
    with pytest.raises(UnknownEventType, match="GiftWrapped"):
        async with app.router.lifespan_context(app):
            pass


# Clock


def test_frozen_clock_stands_still_until_moved():
    clock = FrozenClock(AT)

    assert clock.now() == clock.now() == AT
    clock.move_to(AT + timedelta(hours=1))
    assert clock.now() == AT + timedelta(hours=1)


def test_clock_for_nothing_is_the_system_clock_in_utc():
    clock = clock_for(None)

    assert isinstance(clock, SystemClock)
    assert clock.now().utcoffset() == timedelta(0)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_clock_for_an_instant_is_frozen_there_in_utc():
    clock = clock_for(datetime(2026, 11, 20, 11, 15, tzinfo=timezone(timedelta(hours=1))))

    assert clock.now() == AT
    assert clock.now().utcoffset() == timedelta(0)


def test_crm_frozen_now_pins_the_clock(env):
    env.setenv("CRM_FROZEN_NOW", "2026-11-20T18:15:00+08:00")

    clock = clock_for(ServiceSettings().frozen_now)

    assert clock.now() == AT
    assert clock.now().tzinfo == UTC


def test_crm_frozen_now_unset_means_the_running_clock(env):
    assert isinstance(clock_for(ServiceSettings().frozen_now), SystemClock)


def test_crm_frozen_now_without_a_timezone_fails_at_start(env):
    env.setenv("CRM_FROZEN_NOW", "2026-11-20T10:15:00")

    with pytest.raises(ValidationError, match="frozen_now"):
        ServiceSettings()


# Settings


def test_db_url_defaults_to_the_services_own_local_database(env):
    env.setenv("CRM_SERVICE", "loyalty")

    assert ServiceSettings().db_url == "postgresql+asyncpg://crm@127.0.0.1:55432/crm_loyalty"


def test_db_url_follows_the_pg_settings(env):
    env.setenv("CRM_SERVICE", "profile")
    env.setenv("CRM_PG_HOST", "db.internal")
    env.setenv("CRM_PG_PORT", "6543")
    env.setenv("CRM_PG_USER", "app")
    env.setenv("CRM_PG_PASSWORD", "s3cret")

    assert (
        ServiceSettings().db_url == "postgresql+asyncpg://app:s3cret@db.internal:6543/crm_profile"
    )


def test_database_url_overrides_everything(env):
    env.setenv("CRM_DATABASE_URL", "sqlite+aiosqlite:///.data/crm.db")
    env.setenv("CRM_PG_PORT", "6543")

    assert ServiceSettings().db_url == "sqlite+aiosqlite:///.data/crm.db"


def test_db_url_keeps_a_password_with_url_special_characters(env):
    env.setenv("CRM_SERVICE", "feedback")
    env.setenv("CRM_PG_PASSWORD", "p@ss/w:rd#1")

    url = make_url(ServiceSettings().db_url)

    assert url.password == "p@ss/w:rd#1"
    assert (url.host, url.port, url.database) == ("127.0.0.1", 55432, "crm_feedback")


@pytest.mark.parametrize(
    ("service", "port"),
    [
        ("gateway", 8000),
        ("profile", 8001),
        ("lifecycle", 8002),
        ("feedback", 8003),
        ("loyalty", 8004),
    ],
)
def test_port_of_defaults(env, service, port):
    assert ServiceSettings().port_of(service) == port


def test_port_of_reads_crm_service_port(env):
    env.setenv("CRM_PROFILE_PORT", "9101")
    env.setenv("CRM_GATEWAY_PORT", "9100")

    settings = ServiceSettings()

    assert (settings.port_of("profile"), settings.port_of("gateway")) == (9101, 9100)


def test_a_non_numeric_port_fails_at_start(env):
    env.setenv("CRM_LOYALTY_PORT", "eighty")

    with pytest.raises(ValidationError, match="loyalty_port"):
        ServiceSettings()


# Problem details


def test_problem_body_has_type_title_status_and_detail():
    problem = Problem(409, "insufficient-points", "The balance is 10 points; 50 were asked.")

    assert problem.body() == {
        "type": "urn:crm:problem:insufficient-points",
        "title": "Conflict",
        "status": 409,
        "detail": "The balance is 10 points; 50 were asked.",
    }


def test_problem_body_carries_extra_members_and_a_custom_title():
    problem = Problem(418, "teapot", "Brew coffee elsewhere.", title="Teapot", retry_after=3)

    assert problem.body()["title"] == "Teapot"
    assert problem.body()["retry_after"] == 3


def test_problem_of_an_unlisted_status_is_titled_error():
    assert Problem(507, "storage", "Disk full.").title == "Error"


def test_problem_response_is_problem_json_with_its_status():
    response = Problem(404, "customer-not-found", "No such customer.").response()

    assert response.status_code == 404
    assert response.media_type == MEDIA_TYPE == "application/problem+json"


def test_unreadable_json_is_a_400_malformed_json():
    problem = validation_problem([{"type": "json_invalid", "loc": ("body", 1), "msg": "bad"}])

    assert problem.status == 400
    assert problem.body()["type"] == "urn:crm:problem:malformed-json"


def test_field_errors_are_a_422_listing_each_field():
    errors = [
        {"type": "missing", "loc": ("body", "points"), "msg": "Field required"},
        {
            "type": "int_parsing",
            "loc": ("query", "limit"),
            "msg": "Input should be a valid integer",
        },
    ]

    body = validation_problem(errors, "the redemption").body()

    assert body["status"] == 422
    assert body["type"] == "urn:crm:problem:validation-failed"
    assert body["errors"] == [
        {"field": "points", "message": "Field required"},
        {"field": "query.limit", "message": "Input should be a valid integer"},
    ]
    assert body["detail"].startswith("Fix the redemption: points: Field required")


def test_an_error_on_the_whole_body_is_named_body():
    body = validation_problem(
        [{"type": "model_type", "loc": ("body",), "msg": "not an object"}]
    ).body()

    assert body["errors"] == [{"field": "", "message": "not an object"}]
    assert "body: not an object" in body["detail"]
