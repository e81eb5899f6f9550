"""Events profile publishes on ``crm.profile``."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events.bounds import Id, Name
from shared.events.payload import Payload
from shared.sealing import Personal

MatchKind = Literal["email", "phone"]


class CustomerCreated(Payload):
    """Profile met a customer it did not know and gave them a canonical id."""

    customer_id: Id
    source: Name
    external_id: Name
    created_at: AwareDatetime


class MergeCandidateFound(Payload):
    """Two customers share an e-mail or phone: they may be one person. Profile does not
    link them on its own; an operator confirms or dismisses the candidate."""

    candidate_id: str
    survivor_id: str = Field(description="The older customer, who would stay")
    merged_id: str = Field(description="The newer customer, who would be merged into the other")
    matched: list[MatchKind] = Field(description="What the two share")
    found_at: AwareDatetime


class MergeCandidateDismissed(Payload):
    """An operator decided that the two customers of a candidate are different people."""

    candidate_id: str
    survivor_id: str
    merged_id: str
    decided_at: AwareDatetime
    decided_by: str | None = None
    reason: str | None = None


class CustomersMerged(Payload):
    """Two customers are one person: ``merged_id`` now lives on as ``survivor_id``.

    Profile has moved the merged customer's identities, so its references resolve to
    the survivor; every service may move the merged customer's facts to the survivor."""

    merge_id: str
    survivor_id: str
    merged_id: str
    candidate_id: str | None = None
    decided_at: AwareDatetime
    decided_by: str | None = None
    reason: str


class CustomersUnmerged(Payload):
    """An operator took a merge apart: ``merged_id`` is its own customer again.

    Profile has moved the merged customer's identities back, so its references resolve
    to it again; every service moves the merged customer's facts back to it (with what
    arrived for it since the merge) and leaves the survivor what is the survivor's.
    ``restored`` names the customers that had been merged into ``merged_id`` before
    this merge: they point at ``merged_id`` again."""

    merge_id: str
    survivor_id: str
    merged_id: str
    restored: list[str] = Field(default_factory=list, max_length=1000)
    undone_at: AwareDatetime
    undone_by: str | None = None
    reason: str


ConsentChannel = Literal["email", "sms", "phone", "push", "post"]
ConsentPurpose = Literal["marketing", "surveys", "service"]


class ConsentChanged(Payload, Personal):
    """A customer granted or withdrew consent to be addressed on a channel for a purpose.

    Profile records every change with its proof and publishes it, so the services
    that address customers (feedback's survey invitations, webhooks) respect it; the
    proof (free text) travels sealed under the customer's key."""

    PERSONAL = ("proof",)

    channel: ConsentChannel
    purpose: ConsentPurpose
    granted: bool
    at: AwareDatetime = Field(description="When the customer decided")
    source: Name = Field(description="Where the decision was taken: a partner system or 'api'")
    proof: str | None = Field(
        default=None,
        max_length=2000,
        description="The text the customer agreed to, or the partner's reference to it",
    )


# An attribute's value as profile publishes it (checked against the tenant's schema
# already): a text, a number, a boolean, a date as YYYY-MM-DD, or a list of texts.
PublishedValue = str | int | float | bool | list[str]


class CustomerRecordUpdated(Payload, Personal):
    """A customer's record changed: its attributes or its contact details.

    ``attributes`` holds every declared attribute the customer has a value for, as it
    is now, so a consumer keeps the latest event and nothing else (segments fold it,
    loyalty may read a birthday); ``changed`` names what changed: attribute names, and
    ``name``, ``email`` or ``phone`` (whose values stay in profile). When any of them is
    ``personal_data`` the attributes travel sealed under the customer's key."""

    PERSONAL = ("attributes",)

    customer_id: Id
    version: int = Field(description="The record's version after the change (its ETag)")
    attributes: dict[str, PublishedValue] = Field(default_factory=dict)
    personal_data: list[str] = Field(
        default_factory=list, description="Which of the attributes hold personal data"
    )
    changed: list[str]
    source: Name = Field(description="Who changed it: a partner system, 'api' or an import")
    updated_at: AwareDatetime


class SegmentEntered(Payload):
    """A customer now matches a segment's rule.

    An event or the passing of time (a window's edge) made it so, or the segment was saved."""

    segment_id: Id
    name: Name = Field(description="The segment's name when the customer entered")
    at: AwareDatetime = Field(description="When profile found the customer matching")


SegmentExitReason = Literal["rule", "segment_deleted", "merged"]


class SegmentExited(Payload):
    """A customer left a segment.

    The rule no longer holds, the segment was deleted, or the customer was merged into
    another (whose own membership is evaluated)."""

    segment_id: Id
    name: Name
    at: AwareDatetime
    reason: SegmentExitReason = "rule"
