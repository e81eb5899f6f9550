"""Rebuild lifecycle's customers from the topics.

    python -m services.lifecycle.rebuild        (with the lifecycle service stopped)

Stages, their history, orders, timers and watermarks are folded from crm.activity,
crm.feedback and crm.loyalty, so they are thrown away and folded again
(``services.rebuilding``); silences and churns fire at their due times on the way. The
model fits are kept: they are fitted over the state by their own job, not folded.
"""

from __future__ import annotations

from services.lifecycle import app
from services.lifecycle.tables import (
    customer_state,
    lifecycle_purchase,
    lifecycle_timer,
    lifecycle_watermark,
    stage_history,
)
from services.rebuilding import main

FOLDED = (stage_history, lifecycle_timer, lifecycle_purchase, lifecycle_watermark, customer_state)

if __name__ == "__main__":
    main("lifecycle", FOLDED, app.sweep)
