"""The customer 360 counts a free order as an order (issue 7, item 15): its stats say
one order and when it was made, with no revenue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.profile.domain import fold, new_view
from shared.events.activity import PurchaseCompleted

AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def test_a_free_order_counts_in_the_360_without_revenue():
    view = new_view("tenant-1", uuid.uuid4(), AT)
    free = PurchaseCompleted(order_id="F-1", amount_minor=0, currency="EUR", channel="web")

    assert fold(view, free, AT)

    assert (view["orders"], view["revenue_minor"], view["last_purchase_at"]) == (1, 0, AT)
