"""Answers of the main routes as a client sees them (taken from a real embedded run),
shown in /docs and carried into generated clients' documentation. Examples only: the
schemas are the contract (tests/unit/test_gateway_openapi.py holds each to its schema).
No example holds a null: the document is written without nulls, so one would vanish."""

from __future__ import annotations

from typing import Any

CUSTOMER_ID = "30e416c8-7c80-4e9d-9b17-25914c0babb3"
AT = "2026-11-30T01:44:04.677239Z"

CUSTOMER_360 = {
    "customer_id": CUSTOMER_ID,
    "name": "Li Wei",
    "email": "li.wei@example.com",
    "phone": "+8613800138000",
    "stage": "new_customer",
    "stage_since": AT,
    "churn_risk": {
        "score": 15,
        "level": "low",
        "reasons": [
            {
                "code": "no_repeat_rhythm",
                "weight": 14.78,
                "detail": "One purchase occasion, 0 days ago; judged against how soon customers "
                "usually buy again, the chance they are still active is 75%.",
            }
        ],
    },
    "loyalty": {"tier": "member", "points_balance": 1299, "points_pending": 0},
    "feedback": {"last_nps": 9, "open_complaints": 0},
    "stats": {"orders": 1, "revenue_minor": 129900, "currency": "CNY", "last_purchase_at": AT},
    "updated_at": "2026-11-30T01:44:05.598517Z",
}
LOYALTY_ACCOUNT = {
    "tier": "member",
    "points_balance": 1299,
    "points_pending": 0,
    "next_expiry": {"points": 1299, "at": "2028-11-29T01:44:04.677239Z"},
    "qualifying_spend_minor": 129900,
}
REDEMPTION = {
    "entry_id": "e09d5a26-b0d1-542d-a255-a499dddf0080",
    "kind": "redeem",
    "points": -500,
    "at": "2026-11-30T01:44:05.832159Z",
    "ref": "redemption:pos-redeem-1",
}
ADJUSTMENT = {
    "entry_id": "5b0f3c47-8e1d-5c2a-9f64-0d2b7a93e1c8",
    "kind": "adjust",
    "points": 500,
    "ref": "adjustment:desk-2291",
    "reason": "goodwill:lost receipt",
    "adjusted_by": "api-key:0c1e4f62-93a5-4d7b-8f20-6a1d9e3b5c74",
    "at": "2026-11-30T01:44:05.832159Z",
    "balance_after": 1799,
}
EVENT_ACCEPTED = {"event_id": "0b6c1d5e-3f8e-5a41-9d57-6f0f3c1e2a77", "status": "accepted"}


def answer(status: int, example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """``responses`` entry showing ``example`` as the JSON answer of ``status``."""
    return {status: {"content": {"application/json": {"example": example}}}}
