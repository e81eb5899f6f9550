"""Segments as the API shows them: a definition (a name and a rule in the JSON rule
language, ``services.profile.segment_rules``), its size and members, a customer's
segments, a rule's preview and a member's explanation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from shared.contracts.query import Id
from shared.cursors import IdCursor
from shared.events.bounds import Text

RULE_EXAMPLE = {
    "all": [
        {"field": "stage", "op": "eq", "value": "active"},
        {"activity": "purchase_completed", "within_days": 90, "at_least": 2},
        {"field": "churn_score", "op": "gte", "value": 60},
        {"consent": {"channel": "email", "purpose": "marketing"}},
    ]
}
Rule = Annotated[
    dict[str, Any],
    Field(
        description="A clause of the rule language: all/any/not of clauses, a 360 field, an "
        "attribute, consent granted, or a count of activities in a window (see README "
        "'Segments'); a fault is a 422 naming the clause",
        examples=[RULE_EXAMPLE],
    ),
]


class SegmentDefinition(BaseModel):
    name: Annotated[Text, Field(min_length=1, max_length=200, examples=["Active buyers"])]
    description: Annotated[Text, Field(max_length=500)] = ""
    rule: Rule


class RuleRequest(BaseModel):
    rule: Rule


class Segment(BaseModel):
    segment_id: uuid.UUID
    name: str
    description: str
    rule: dict[str, Any]
    version: int = Field(description="Counts the definition's changes")
    size: int = Field(ge=0, description="How many customers are in it now")
    created_at: datetime
    updated_at: datetime


class SegmentList(BaseModel):
    segments: list[Segment] = Field(description="By name")


class SegmentMember(BaseModel):
    customer_id: uuid.UUID
    entered_at: datetime


class SegmentMemberPage(BaseModel):
    segment_id: uuid.UUID
    members: list[SegmentMember] = Field(description="By customer id")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class CustomerSegment(BaseModel):
    segment_id: uuid.UUID
    name: str
    entered_at: datetime


class CustomerSegments(BaseModel):
    customer_id: uuid.UUID
    segments: list[CustomerSegment] = Field(description="By name")


class ClauseResult(BaseModel):
    path: str = Field(description="The clause, as a 422 would name it (rule.all[1])")
    held: bool


class SegmentExplanation(BaseModel):
    segment_id: uuid.UUID
    customer_id: uuid.UUID
    member: bool = Field(description="Whether the customer is in the segment now")
    holds: bool = Field(description="Whether the rule holds on the customer's facts now")
    clauses: list[ClauseResult] = Field(description="Every clause, outermost first")


class SegmentPreview(BaseModel):
    size: int = Field(ge=0, description="How many of the evaluated customers match")
    evaluated: int = Field(ge=0, description="How many customers were evaluated")
    complete: bool = Field(description="False: the tenant has more customers than a preview reads")
    as_of: datetime


class SegmentSweep(BaseModel):
    evaluated: int = Field(0, ge=0)
    entered: int = Field(0, ge=0)
    exited: int = Field(0, ge=0)
    as_of: datetime


MemberLimit = Annotated[int, Query(ge=1, le=500)]
MemberCursor = IdCursor
SearchSegment = Annotated[
    Id | None,
    Query(description="Only the members of this segment (GET /v1/segments)"),
]
