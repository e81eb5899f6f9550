"""The fast tier covers every consumer group the services wire: a group added to a
service's ``app.py`` fails here until it has its handler tests."""

from __future__ import annotations

from pathlib import Path

from services import NAMES, definition
from tests.handlers import (
    test_feedback,
    test_feedback_analytics,
    test_feedback_audience,
    test_gateway_webhooks,
    test_lifecycle,
    test_lifecycle_merges,
    test_loyalty,
    test_loyalty_merges,
    test_privacy,
    test_profile_inbound,
    test_profile_view,
)
from tests.handlers.conftest import CONSUMING

TESTED_BY = {
    "profile-inbound": test_profile_inbound,
    "profile-view": test_profile_view,
    "lifecycle-activity": test_lifecycle,
    "lifecycle-signals": test_lifecycle,
    "lifecycle-profile": test_lifecycle_merges,
    "feedback-activity": test_feedback,
    "feedback-lifecycle": test_feedback_audience,
    "feedback-profile": test_feedback_audience,
    "feedback-loyalty": test_feedback_analytics,
    "loyalty-activity": test_loyalty,
    "loyalty-feedback": test_loyalty,
    "loyalty-lifecycle": test_loyalty,
    "loyalty-profile": test_loyalty_merges,
    "gateway-webhooks": test_gateway_webhooks,
    "lifecycle-erasure": test_privacy,
    "feedback-erasure": test_privacy,
    "loyalty-erasure": test_privacy,
}


async def test_every_consumer_group_of_every_service_has_its_handler_tests(bench_of):
    benches = {name: await bench_of(name) for name in CONSUMING}
    others = [n for n in NAMES if n not in CONSUMING]
    runtime = benches["profile"].runtime

    assert [len(definition(n).subscriptions(runtime)) for n in others] == [0] * len(others)
    wired = {group for bench in benches.values() for group in bench.consumers}
    assert wired == set(TESTED_BY)


def test_the_tests_of_each_group_consume_as_that_group():
    for group, module in TESTED_BY.items():
        source = Path(module.__file__ or "").read_text()
        assert f'"{group}"' in source, f"{module.__name__} never consumes as {group}"
