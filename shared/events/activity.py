"""What customers do, as partner systems report it (the ``data`` of ``POST /v1/events``).

The same models travel twice: on ``crm.inbound`` wrapped with the partner's
customer reference, and on ``crm.activity`` once profile has resolved the
customer (the canonical id is then the CloudEvents ``subject``).
"""

from __future__ import annotations

import functools
import math
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, cast

from pydantic import (
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from shared.events.bounds import (
    EMAIL_PATTERN,
    MAX_ATTRIBUTE_TEXT,
    MAX_SAFE_INTEGER,
    NO_NUL_PATTERN,
    AttributeName,
    Label,
    LongText,
    Ref,
    SourceName,
    no_nul,
)
from shared.events.payload import Payload
from shared.events.profile import ConsentChannel, ConsentPurpose
from shared.money import AmountMinor, Currency
from shared.sealing import Personal

Severity = Literal["low", "medium", "high", "critical"]
SurveyKind = Literal["nps", "csat", "ces"]
SURVEY_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


MAX_LIST_ITEMS = 50
MAX_LIST_ITEM = 200
MAX_PROPERTIES = 20
MAX_PROPERTY_TEXT = 256
_FINITE = 1e15  # beyond it a float has no digit after the point left to speak of


def _scalar(value: Any, text_limit: int) -> str | int | float | bool:
    """A text, a whole or a finite number, or a boolean, each bounded; one check for all
    kinds, so an error names the attribute or property rather than a union member."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"an integer lies within ±{MAX_SAFE_INTEGER}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > _FINITE:
            raise ValueError(f"a number lies within ±{_FINITE:.0e}")
        return value
    if isinstance(value, str):
        if len(value) > text_limit:
            raise ValueError(f"a text has at most {text_limit} characters")
        return no_nul(value)
    raise ValueError("a value is a string, a number or a boolean")


def _attribute_value(value: Any) -> str | int | float | bool | list[str]:
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            raise ValueError(f"a list attribute has at most {MAX_LIST_ITEMS} items")
        if not all(isinstance(v, str) and len(v) <= MAX_LIST_ITEM for v in value):
            raise ValueError(f"a list attribute holds texts of at most {MAX_LIST_ITEM} characters")
        return [no_nul(v) for v in value]
    return _scalar(value, MAX_ATTRIBUTE_TEXT)


_NUMBER = {"type": "number", "minimum": -_FINITE, "maximum": _FINITE}
_INTEGER = {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER}
# What a partner may send as an attribute's value; the tenant's attribute schema
# (``GET /v1/profile/attributes``) says which type each named attribute has.
AttributeValue = Annotated[
    str | int | float | bool | list[str],
    PlainValidator(_attribute_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_ATTRIBUTE_TEXT, "pattern": NO_NUL_PATTERN},
                _INTEGER,
                _NUMBER,
                {"type": "boolean"},
                {
                    "type": "array",
                    "maxItems": MAX_LIST_ITEMS,
                    "items": {
                        "type": "string",
                        "maxLength": MAX_LIST_ITEM,
                        "pattern": NO_NUL_PATTERN,
                    },
                },
            ]
        }
    ),
]
PropertyName = Annotated[str, Field(min_length=1, max_length=64)]
PropertyValue = Annotated[
    str | int | float | bool,
    PlainValidator(lambda value: _scalar(value, MAX_PROPERTY_TEXT)),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_PROPERTY_TEXT, "pattern": NO_NUL_PATTERN},
                _INTEGER,
                _NUMBER,
                {"type": "boolean"},
            ]
        }
    ),
]


class Activity(Payload, Personal):
    """What every partner activity may carry besides its own data: free ``properties``,
    kept with the activity (on crm.activity) for segments to match on. Partners put
    anything there (birthdays, notes), so they are personal: sealed with the activity's
    other personal fields (each subclass's ``PERSONAL`` names them too)."""

    PERSONAL: ClassVar[tuple[str, ...]] = ("properties",)

    properties: dict[PropertyName, PropertyValue] = Field(
        default_factory=dict,
        max_length=MAX_PROPERTIES,
        description=f"Free properties of the activity (at most {MAX_PROPERTIES}; texts of at "
        f"most {MAX_PROPERTY_TEXT} characters), kept with it for segments",
    )


class CustomerRef(Payload, Personal):
    """Who the partner says the event is about; profile resolves it to one customer."""

    PERSONAL = ("email", "phone", "name")

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


class CustomerRegistered(Activity):
    """The customer signed up or was created in a partner system."""

    PERSONAL = ("attributes", "properties")

    channel: Label
    attributes: dict[AttributeName, AttributeValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Values of the tenant's declared attributes (GET /v1/profile/attributes)",
    )


class CustomerUpdated(Activity):
    """The customer's attributes or contact details changed in a partner system.

    ``attributes`` is a JSON merge patch (``null`` removes a value); the contact
    details travel in the event's ``customer``."""

    PERSONAL = ("attributes", "properties")

    attributes: dict[AttributeName, AttributeValue | None] = Field(
        default_factory=dict,
        max_length=50,
        description="Declared attributes to set; null removes an attribute's value",
    )


class ConsentReported(Activity):
    """The customer granted or withdrew consent in a partner system.

    Its time is the event's ``occurred_at``, its source the customer reference's."""

    PERSONAL = ("proof", "properties")

    channel: ConsentChannel
    purpose: ConsentPurpose
    granted: StrictBool
    proof: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None, description="The text the customer agreed to, or the partner's reference"
    )


class EngagementRecorded(Activity):
    """A sign of interest short of a purchase."""

    kind: Literal["visit", "inquiry", "email_open", "app_open", "cart", "trial"]
    channel: Label


class LineItem(Payload):
    sku: Ref
    quantity: Annotated[StrictInt, Field(ge=1, le=100_000)] = 1
    amount_minor: AmountMinor
    category: Label | None = None


class PurchaseCompleted(Activity):
    """An order was paid."""

    order_id: Ref = Field(examples=["O-77"])
    amount_minor: AmountMinor
    currency: Currency
    channel: Label = Field(examples=["store"])
    items: list[LineItem] = Field(default_factory=list, max_length=500)


class OrderRefunded(Activity):
    """Part or all of an order was refunded; ``amount_minor`` is the refunded part."""

    order_id: Ref
    amount_minor: AmountMinor
    currency: Currency | None = None


class ComplaintFiled(Activity):
    """The customer complained through a partner channel."""

    PERSONAL = ("text", "properties")

    complaint_ref: Ref
    severity: Severity
    category: Label
    channel: Label
    text: LongText = ""


class ComplaintResolved(Activity):
    """A partner's ticketing system closed a complaint it filed earlier."""

    complaint_ref: Ref = Field(description="The ref the complaint was filed with")
    resolution: Annotated[str, Field(min_length=1, max_length=10_000)] = Field(
        examples=["Replacement shipped"]
    )
    compensation_points: Annotated[StrictInt, Field(ge=0, le=10_000_000)] = Field(
        default=0, description="Goodwill points granted to the customer for the trouble"
    )


class ComplaintResolvedV2(ComplaintResolved):
    """A partner closed a complaint it filed (v2: its resolution sealed, so erasable and optional).

    v2 exists because ``resolution`` travels sealed under the customer's key (erasure
    destroys it), so it is empty in the clear, which v1 (where it is required) cannot
    say. Partners still post the v1 shape; the gateway writes v2."""

    PERSONAL = ("resolution", "properties")

    resolution: Annotated[str, Field(max_length=10_000)] = Field(
        default="", examples=["Replacement shipped"]
    )


class SurveyResponded(Activity):
    """The customer answered a survey (NPS 0–10, CSAT 1–5, CES 1–7)."""

    PERSONAL = ("comment", "properties")

    survey: SurveyKind
    score: StrictInt
    comment: LongText | None = None
    channel: Label | None = Field(
        default=None,
        description="Where the customer answered (satisfaction is reported by channel)",
        examples=["email"],
    )

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


class AccountClosed(Activity):
    """The customer closed their account."""

    PERSONAL = ("reason", "properties")

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
    "customer.updated": CustomerUpdated,
    "consent.changed": ConsentReported,
}

# Partner types whose events the gateway writes in a later version than v1 (version,
# payload), still validated against the v1 shape above as posted (API.md: a posted
# shape never changes). Consumers apply both versions: old events stay v1.
REVISED: dict[str, tuple[int, type[Payload]]] = {
    "complaint.resolved": (2, ComplaintResolvedV2),
}


def written(partner_type: str) -> type[Payload]:
    """The payload the gateway writes for ``partner_type`` (its latest version)."""
    revised = REVISED.get(partner_type)
    return revised[1] if revised else ACTIVITIES[partner_type]


A = TypeVar("A", bound=Payload)


class Inbound(Payload, Generic[A]):
    """An activity as a partner posted it, before the customer is resolved."""

    partner: Annotated[str, Field(max_length=64)]
    partner_event_id: Ref
    customer: CustomerRef
    activity: A


@functools.cache  # pydantic's own lookup of a parametrised class costs every post
def inbound_model(activity: type[Payload]) -> type[Inbound[Any]]:
    """The payload class of ``activity`` as posted, on ``crm.inbound`` (one per type)."""
    generic: Any = Inbound  # parametrised by a class known only at run time
    return cast(type[Inbound[Any]], generic[activity])
