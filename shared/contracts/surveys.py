"""Feedback's survey contract: a tenant's survey definitions, a customer's open
invitations with their answer tokens, the answer a token carries, and the answers
read back (a customer's, and the tenant's comments)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic.json_schema import JsonDict

from shared.answer_tokens import PATTERN as TOKEN_PATTERN
from shared.cursors import KeysetCursor
from shared.events.activity import SurveyKind
from shared.events.bounds import WHOLE, Text
from shared.events.lifecycle import Stage
from shared.events.profile import ConsentChannel

Trigger = Literal["purchase", "complaint_resolved", "periodic"]
Occasion = Literal["purchase", "complaint_resolved", "periodic", "stage_entered"]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$", max_length=35)]
Question = Annotated[Text, Field(min_length=1, max_length=500)]
Comment = Annotated[Text, Field(max_length=2000)]
UNIQUE: JsonDict = {"uniqueItems": True}


class SurveyDefinition(BaseModel):
    """One survey of the tenant: what it asks (by language), on which occasions (and
    the entry into which stages), how long after, how often at most per customer, on
    which channels (in order of preference) and for how long an invitation stays open."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool = True
    questions: dict[Language, Question] = Field(
        min_length=1,
        max_length=20,
        json_schema_extra={"additionalProperties": False},
        description="The question by language tag (en, zh-CN, …)",
    )
    triggers: list[Trigger] = Field(default_factory=list, max_length=3, json_schema_extra=UNIQUE)
    stages: list[Stage] = Field(
        default_factory=list, max_length=7, json_schema_extra=UNIQUE,
        description="Invite on the customer's entry into these lifecycle stages",
    )  # fmt: skip
    delay_hours: Annotated[StrictFloat, Field(ge=0, le=8784)] = 24
    every_days: Annotated[StrictInt, Field(ge=1, le=3660), WHOLE] = 30
    channels: list[ConsentChannel] = Field(
        default=["email"], min_length=1, max_length=5, json_schema_extra=UNIQUE
    )
    expires_after_days: Annotated[StrictInt, Field(ge=1, le=365), WHOLE] = 14

    @model_validator(mode="after")
    def _each_once(self) -> SurveyDefinition:
        for name in ("triggers", "stages", "channels"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} names a value twice")
        return self


class StoredSurvey(SurveyDefinition):
    survey: SurveyKind
    stored: bool = Field(description="False: the defaults of feedback.toml, not the tenant's own")


class SurveySet(BaseModel):
    """The tenant's whole set of surveys, by kind: a kind left out is no longer asked."""

    model_config = ConfigDict(extra="forbid")

    nps: SurveyDefinition | None = None
    csat: SurveyDefinition | None = None
    ces: SurveyDefinition | None = None


class Surveys(BaseModel):
    surveys: list[StoredSurvey]


class Invitation(BaseModel):
    """An open invitation, as a front end shows it: the question and the token its
    answer is posted with (``POST /v1/survey-responses``), valid until ``expires_at``."""

    invitation_id: uuid.UUID
    survey: SurveyKind
    occasion: Occasion
    channel: ConsentChannel | None
    invited_at: datetime
    expires_at: datetime
    questions: dict[str, str]
    answer_token: str | None = Field(description="None when no signing key is configured")


class Invitations(BaseModel):
    invitations: list[Invitation]


class TokenAnswer(BaseModel):
    """A customer's answer to the invitation its token names; one answer each."""

    model_config = ConfigDict(extra="forbid")

    answer_token: str = Field(pattern=TOKEN_PATTERN, max_length=600)
    score: Annotated[StrictInt, Field(ge=0, le=10), WHOLE] = Field(
        description="On the survey's scale: NPS 0–10, CSAT 1–5, CES 1–7"
    )
    comment: Comment | None = None


class SurveyResponse(BaseModel):
    response_id: uuid.UUID
    survey: SurveyKind
    score: int
    category: str | None = Field(description="An NPS answer's bucket")
    comment: str | None
    channel: str | None = Field(description="Where it was asked, when it answers an invitation")
    invitation_id: uuid.UUID | None
    responded_at: datetime


class ResponsePage(BaseModel):
    responses: list[SurveyResponse]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class TenantComment(BaseModel):
    response_id: uuid.UUID
    customer_id: uuid.UUID
    survey: SurveyKind
    score: int
    comment: str
    responded_at: datetime


class CommentPage(BaseModel):
    comments: list[TenantComment]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


ResponseLimit = Annotated[int, Query(ge=1, le=200)]
ResponseCursor = KeysetCursor
CommentSearch = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f%_\\]+$",
        description="Comments containing this text (case-insensitive)",
    ),
]
SurveyFilter = Annotated[SurveyKind | None, Query(description="Only answers to this survey")]
ScoreMax = Annotated[int | None, Query(ge=0, le=10, description="Only scores at most this")]
