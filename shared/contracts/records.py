"""A customer's record as the API edits it (attributes, contact details), the tenant's
attribute schema, identities and consent, as profile answers them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Header, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from shared.cursors import IdCursor, KeysetCursor
from shared.events.activity import AttributeValue
from shared.events.bounds import EMAIL_PATTERN, WHOLE, Ref, SourceName, Text
from shared.events.lifecycle import Stage
from shared.events.profile import ConsentChannel, ConsentPurpose
from shared.instants import Instant

AttributeType = Literal["string", "number", "boolean", "date", "list"]
AttributeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
ATTRIBUTE_FILTER_PATTERN = r"^[a-z][a-z0-9_]{0,63}=[^\x00]{0,200}$"
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
Phone = Annotated[str, Field(pattern=PHONE_PATTERN, description="E.164")]


class AttributeDefinition(BaseModel):
    """One attribute a tenant's customers may have."""

    model_config = ConfigDict(extra="forbid")

    type: AttributeType = Field(
        description="string (≤ 1,000 characters), number, boolean, date (YYYY-MM-DD) or "
        "list (≤ 50 texts of ≤ 200 characters)"
    )
    description: Annotated[Text, Field(max_length=500)] = ""
    personal_data: StrictBool = Field(
        default=False, description="Whether its values are personal data (published so)"
    )


class AttributeSchema(BaseModel):
    """Every attribute the tenant declares, by name. PUT replaces them all: a name left
    out is removed (its values hidden, not erased); a name keeps its type for good
    (another type is ``409 attribute-type-fixed``)."""

    model_config = ConfigDict(extra="forbid")

    attributes: dict[AttributeName, AttributeDefinition] = Field(
        max_length=100,
        examples=[{"birthday": {"type": "date", "personal_data": True}}],
        json_schema_extra={"additionalProperties": False},
    )


class CustomerPatch(BaseModel):
    """A JSON merge patch of the record (RFC 7396): a field given replaces, ``null``
    removes, a field left out stays. ``attributes`` patches the declared attributes."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    email: Email | None = None
    phone: Phone | None = None
    attributes: dict[Annotated[str, Field(min_length=1, max_length=64)], AttributeValue | None] = (
        Field(default_factory=dict, max_length=100)
    )


class CustomerRecord(BaseModel):
    """The record as edited: contact details, declared attributes, version (its ETag)."""

    customer_id: uuid.UUID
    version: int = Field(ge=1, description="Changes with every change; the ETag is it quoted")
    name: str | None
    email: str | None
    phone: str | None
    attributes: dict[str, Any]


class IdentityEntry(BaseModel):
    kind: str = Field(description="'ref:<source>' (a partner's id), 'email' or 'phone'")
    value: str
    source: str | None = Field(description="Who gave it: a partner source or 'api'")
    first_seen_at: datetime
    last_seen_at: datetime | None


class IdentityList(BaseModel):
    customer_id: uuid.UUID
    identities: list[IdentityEntry]


class ConsentState(BaseModel):
    """The current decision on one channel and purpose (no entry: not granted)."""

    channel: ConsentChannel
    purpose: ConsentPurpose
    granted: bool
    at: datetime
    source: str


class ConsentEntry(ConsentState):
    """One decision as recorded, with its proof and whether it became the state."""

    change_id: uuid.UUID
    proof: str | None
    recorded_at: datetime
    recorded_by: str
    applied: bool = Field(description="False when an earlier-dated decision arrived late")


class ConsentPage(BaseModel):
    customer_id: uuid.UUID
    current: list[ConsentState]
    history: list[ConsentEntry] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as ?cursor= for older decisions")


class ConsentRequest(BaseModel):
    """A decision the customer took, as an operator or front end records it."""

    model_config = ConfigDict(extra="forbid")

    channel: ConsentChannel
    purpose: ConsentPurpose
    granted: StrictBool
    at: Instant | None = Field(
        default=None,
        description="When the customer decided (default: now); at most five minutes ahead",
    )
    proof: Annotated[Text, Field(min_length=1, max_length=2000)] | None = Field(
        default=None, description="The text the customer agreed to, or a reference to it"
    )


class RecordedConsent(ConsentRequest):
    """As the gateway forwards it: ``recorded_by`` is the caller's API key."""

    recorded_by: Annotated[str, Field(min_length=1, max_length=200)] | None = None


# If-Match of a PATCH: the ETag of the version the client read ("3"), or *.
IfMatch = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        pattern=r"^[\x20-\x7e]*$",
        description='The ETag read (e.g. "3"); a newer version answers 412',
    ),
]
ConsentLimit = Annotated[int, Query(ge=1, le=200)]
ConsentCursor = KeysetCursor
LookupEmail = Annotated[Email | None, Query(examples=["li.wei@example.com"])]
LookupPhone = Annotated[Phone | None, Query(examples=["+8613800000000"])]


BlockedPattern = Annotated[str, Field(min_length=1, max_length=254, pattern=r"^[^\x00-\x20\x7f]+$")]


class IdentityGuardrails(BaseModel):
    """A tenant's rules for automatic linking."""

    model_config = ConfigDict(extra="forbid")

    blocked_emails: list[BlockedPattern] = Field(
        max_length=100,
        description="E-mails never kept nor linked on; * stands for any text (noreply@*)",
    )
    blocked_phones: list[BlockedPattern] = Field(
        max_length=100, description="Phones never kept nor linked on (a shop's own number)"
    )
    max_identities: Annotated[StrictInt, Field(ge=1, le=1000), WHOLE] = Field(
        description="The most partner references one customer may have"
    )
    on_match: Literal["propose", "link"] = Field(
        description="What an unknown reference sharing an e-mail or phone with one customer "
        "does: propose a merge (an operator decides) or link to that customer"
    )


class NewReference(BaseModel):
    """A partner's id for the customer, added by an operator."""

    model_config = ConfigDict(extra="forbid")

    source: SourceName
    external_id: Ref


# The reference to take from a customer (DELETE /v1/customers/{id}/identities).
ReferenceSource = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
ReferenceExternalId = Annotated[
    str, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/@#+-]+$")
]


class CustomerSummary(BaseModel):
    """A customer as a search lists it."""

    customer_id: uuid.UUID
    name: str | None
    email: str | None
    phone: str | None
    stage: str | None
    tier: str | None
    attributes: dict[str, Any]


class CustomerSearchPage(BaseModel):
    customers: list[CustomerSummary] = Field(description="By customer id")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


# The search's query: text over name (prefix of any word, or similar), e-mail and phone
# (prefix), filters, and a page.
SearchText = Annotated[
    Text | None,
    Query(
        min_length=1,
        max_length=100,
        description="Prefix of any word of the name, of the e-mail or of the phone; a name "
        "within a typo or two also matches (on PostgreSQL)",
        examples=["li"],
    ),
]
SearchStage = Annotated[Stage | None, Query()]
SearchTier = Annotated[Text | None, Query(min_length=1, max_length=32, examples=["gold"])]
SearchAttribute = Annotated[
    list[Annotated[str, Field(pattern=ATTRIBUTE_FILTER_PATTERN)]] | None,
    Query(
        max_length=5,
        description="name=value of a declared attribute (a list attribute: one of its "
        "items); several must all hold",
        examples=[["plan=gold"]],
    ),
]
SearchLimit = Annotated[int, Query(ge=1, le=200)]
SearchCursor = IdCursor

ExportFormat = Annotated[
    Literal["ndjson", "csv"],
    Query(description="ndjson: one JSON object a line; csv: a header, attributes as columns"),
]
