"""What customers do, as partner systems report it (the ``data`` of ``POST /v1/events``).

The same models travel twice: on ``crm.inbound`` wrapped with the partner's
customer reference, and on ``crm.activity`` once profile has resolved the
customer (the canonical id is then the CloudEvents ``subject``).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar, cast

from pydantic import Field, StrictInt, ValidationInfo, field_validator

from shared.events.bounds import (
    EMAIL_PATTERN,
    AttributeName,
    AttributeValue,
    Label,
    LongText,
    Ref,
    SourceName,
)
from shared.events.payload import Payload
from shared.money import AmountMinor, Currency

Severity = Literal["low", "medium", "high", "critical"]
SurveyKind = Literal["nps", "csat", "ces"]
SURVEY_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


class CustomerRef(Payload):
    """Who the partner says the event is about; profile resolves it to one customer."""

    source: SourceName = Field(
        description="The partner system that knows the customer by external_id", examples=["pos"]
    )
    external_id: Ref = Field(examples=["C-1001"])
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)] | None = Field(
        default=None, examples=["li.wei@example.com"]
    )
    phone: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")] | None = Field(
        default=None, description="E.164", examples=["+8613800000000"]
    )
    name: Annotated[str, Field(max_length=200)] | None = Field(default=None, examples=["Li Wei"])


class CustomerRegistered(Payload):
    """The customer signed up or was created in a partner system."""

    channel: Label
    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=50)


class EngagementRecorded(Payload):
    """A sign of interest short of a purchase."""

    kind: Literal["visit", "inquiry", "email_open", "app_open", "cart", "trial"]
    channel: Label


class LineItem(Payload):
    sku: Ref
    quantity: Annotated[StrictInt, Field(ge=1, le=100_000)] = 1
    amount_minor: AmountMinor
    category: Label | None = None


class PurchaseCompleted(Payload):
    """An order was paid."""

    order_id: Ref = Field(examples=["O-77"])
    amount_minor: AmountMinor
    currency: Currency
    channel: Label = Field(examples=["store"])
    items: list[LineItem] = Field(default_factory=list, max_length=500)


class OrderRefunded(Payload):
    """Part or all of an order was refunded; ``amount_minor`` is the refunded part."""

    order_id: Ref
    amount_minor: AmountMinor
    currency: Currency | None = None


class ComplaintFiled(Payload):
    """The customer complained through a partner channel."""

    complaint_ref: Ref
    severity: Severity
    category: Label
    channel: Label
    text: LongText = ""


class ComplaintResolved(Payload):
    """A partner's ticketing system closed a complaint it filed earlier."""

    complaint_ref: Ref = Field(description="The ref the complaint was filed with")
    resolution: Annotated[str, Field(min_length=1, max_length=10_000)] = Field(
        examples=["Replacement shipped"]
    )
    compensation_points: Annotated[StrictInt, Field(ge=0, le=10_000_000)] = Field(
        default=0, description="Goodwill points granted to the customer for the trouble"
    )


class SurveyResponded(Payload):
    """The customer answered a survey (NPS 0–10, CSAT 1–5, CES 1–7)."""

    survey: SurveyKind
    score: StrictInt
    comment: LongText | None = None

    @field_validator("score")
    @classmethod
    def _score_on_scale(cls, score: int, info: ValidationInfo) -> int:
        """Checked on the field (``survey`` comes first), so the error names ``score``."""
        survey = info.data.get("survey")
        if survey is None:
            return score
        low, high = SURVEY_SCALES[survey]
        if not low <= score <= high:
            raise ValueError(f"a {survey} score is between {low} and {high}, not {score}")
        return score


class AccountClosed(Payload):
    """The customer closed their account."""

    reason: Annotated[str, Field(max_length=500)] | None = None


# The partner-facing type names of API.md, and their payloads.
ACTIVITIES: dict[str, type[Payload]] = {
    "customer.registered": CustomerRegistered,
    "engagement.recorded": EngagementRecorded,
    "purchase.completed": PurchaseCompleted,
    "order.refunded": OrderRefunded,
    "complaint.filed": ComplaintFiled,
    "complaint.resolved": ComplaintResolved,
    "survey.responded": SurveyResponded,
    "account.closed": AccountClosed,
}

A = TypeVar("A", bound=Payload)


class Inbound(Payload, Generic[A]):
    """An activity as a partner posted it, before the customer is resolved."""

    partner: Annotated[str, Field(max_length=64)]
    partner_event_id: Ref
    customer: CustomerRef
    activity: A


def inbound_model(activity: type[Payload]) -> type[Inbound[Any]]:
    """The payload class of ``activity`` as posted, on ``crm.inbound`` (one per type)."""
    generic: Any = Inbound  # parametrised by a class known only at run time
    return cast(type[Inbound[Any]], generic[activity])
