"""Rebuild loyalty's accounts from the topics.

    python -m services.loyalty.rebuild          (with the loyalty service stopped)

What is thrown away and folded again (``services.rebuilding``): the accounts, the
ledger, its lots, the reactivation offers, the tier moves, the merges and the refunds
waiting for their purchase. They come from crm.activity (purchases, refunds),
crm.feedback (goodwill, compensation), crm.lifecycle (silences), crm.profile (merges)
and erasures; releases, expiries and tier reviews happen again at their due times.

The decisions made at loyalty's own API, redemptions and manual adjustments, are
folded from the events they were announced with (``crm.loyalty.points_redeemed.v1``,
which carries the Idempotency-Key, and ``points_adjusted.v1`` of an ``adjustment:``
ref, which carries the reason and deciding key): each entry, the lots it spent or made
and its idempotency record, at the time it was made, without checking the balance or
the caps again (the customer has the voucher; the points were granted). That group
(``loyalty-redemptions``) only a rebuild runs; the rest of crm.loyalty is what loyalty
concluded from the above, and is not read. Kept as they are: the tenants'
programmes (``tenant_rules``: configuration, set at the API, not folded).
"""

from __future__ import annotations

from services.loyalty import app
from services.loyalty.tables import (
    account,
    adjustment,
    customer_merge,
    ledger_entry,
    lot,
    offer,
    parked,
    redemption,
    tier_change,
)
from services.rebuilding import main

FOLDED = (
    redemption,
    adjustment,
    ledger_entry,
    lot,
    offer,
    tier_change,
    customer_merge,
    parked,
    account,
)

if __name__ == "__main__":
    main("loyalty", FOLDED, app.sweep)
