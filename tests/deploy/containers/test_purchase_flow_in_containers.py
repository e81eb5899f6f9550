"""The purchase flow end to end against the compose topology: the very tests of
tests/e2e/test_purchase_flow.py, with this folder's ``gateway`` (the containers')."""

from tests.e2e.test_purchase_flow import (
    test_a_batch_flows_through_like_single_events,
    test_a_known_customer_takes_the_newest_contact_details_from_its_own_source,
    test_first_purchase_shows_new_customer_with_points_within_5_seconds,
    test_posting_the_same_event_id_twice_changes_nothing,
    test_second_purchase_moves_the_customer_to_active,
)

__all__ = [
    "test_a_batch_flows_through_like_single_events",
    "test_a_known_customer_takes_the_newest_contact_details_from_its_own_source",
    "test_first_purchase_shows_new_customer_with_points_within_5_seconds",
    "test_posting_the_same_event_id_twice_changes_nothing",
    "test_second_purchase_moves_the_customer_to_active",
]
