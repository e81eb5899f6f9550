"""One registry of every event type the platform speaks, and its typed payload.

A type is ``crm.<area>.<name>.v<N>`` and lives on topic ``crm.<area>``. The
registry validates payloads on the way in and out, and renders the event
catalogue (JSON Schema) that partners read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.events import feedback, gateway, lifecycle, loyalty, privacy, profile
from shared.events.activity import ACTIVITIES, REVISED, inbound_model
from shared.events.payload import DecodeError, Payload
from shared.fields import field_errors, summary
from shared.sealing import Personal


@dataclass(frozen=True)
class EventType:
    payload: type[Payload]
    type: str

    @property
    def topic(self) -> str:
        return ".".join(self.type.split(".")[:2])

    @property
    def description(self) -> str:
        lines = (self.payload.__doc__ or self.payload.__name__).strip().splitlines()
        return lines[0] if lines else self.type


class Registry:
    def __init__(self, types: Iterable[EventType]) -> None:
        self._by_type = {t.type: t for t in types}
        self._by_payload = {t.payload: t.type for t in self._by_type.values()}

    def __contains__(self, event_type: str) -> bool:
        return event_type in self._by_type

    def __iter__(self) -> Iterator[EventType]:
        return iter(self._by_type.values())

    def type_of(self, payload: Payload) -> str:
        """The event type a payload instance is registered under."""
        return self._by_payload[type(payload)]

    def payloads_on(self, topic: str) -> tuple[type[Payload], ...]:
        """Every payload class that travels on ``topic``."""
        return tuple(t.payload for t in self._by_type.values() if t.topic == topic)

    def type_name(self, payload: type[Payload]) -> str | None:
        """The event type a payload class is registered under, or None if it is not."""
        return self._by_payload.get(payload)

    def parse(self, event_type: str, data: dict[str, Any]) -> Payload:
        """Validate ``data`` as the payload of ``event_type``.

        Raises ``DecodeError`` for an unknown type or version, or invalid data.
        """
        known = self._by_type.get(event_type)
        if known is None:
            raise DecodeError(f"unknown event type or version '{event_type}'")
        try:
            return known.payload.model_validate(data)
        except ValidationError as error:
            problems = summary(field_errors(error.errors()), "data")
            raise DecodeError(f"invalid {event_type} data: {problems}") from error

    def catalogue(self) -> dict[str, Any]:
        """The event catalogue as one JSON Schema document, one entry per type."""
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "CRM event catalogue",
            "description": "CloudEvents 1.0 types; `data` follows the schema of its type.",
            "events": {
                t.type: {
                    "topic": t.topic,
                    "description": t.description,
                    "schema": t.payload.model_json_schema(by_alias=True),
                    **_sealed(t.payload),
                }
                for t in self._by_type.values()
            },
        }


def _sealed(payload: type[Payload]) -> dict[str, Any]:
    """Where the type's personal fields may travel sealed (``shared.sealing``): each
    named field is then empty, and its value is in the ``sealed`` envelope beside it."""
    found = [*_personal(payload, "")]
    for name, info in payload.model_fields.items():
        inner = info.annotation
        if isinstance(inner, type) and issubclass(inner, Personal):
            found += _personal(inner, f"{name}.")
    if not found:
        return {}
    return {
        "sealed_fields": found,
        "sealed_envelope": {"kid": "subject key id", "ct": "base64", "alg": "A256GCM"},
    }


def _personal(payload: type[Any], prefix: str) -> list[str]:
    if not (isinstance(payload, type) and issubclass(payload, Personal)):
        return []
    return [f"{prefix}{name}" for name in payload.PERSONAL]


def _activity_name(partner_type: str) -> str:
    return partner_type.replace(".", "_")


def inbound_type(partner_type: str, version: int = 1) -> str:
    """``purchase.completed`` → ``crm.inbound.purchase_completed.v1``."""
    return f"crm.inbound.{_activity_name(partner_type)}.v{version}"


def activity_type(partner_type: str, version: int = 1) -> str:
    """``purchase.completed`` → ``crm.activity.purchase_completed.v1``."""
    return f"crm.activity.{_activity_name(partner_type)}.v{version}"


def _types() -> Iterable[EventType]:
    for partner_type, payload in ACTIVITIES.items():
        yield EventType(inbound_model(payload), inbound_type(partner_type))
        yield EventType(payload, activity_type(partner_type))
    for partner_type, (version, payload) in REVISED.items():  # beside v1, which old events are
        yield EventType(inbound_model(payload), inbound_type(partner_type, version))
        yield EventType(payload, activity_type(partner_type, version))
    yield EventType(profile.CustomerCreated, "crm.profile.customer_created.v1")
    yield EventType(profile.MergeCandidateFound, "crm.profile.merge_candidate_found.v1")
    yield EventType(profile.MergeCandidateDismissed, "crm.profile.merge_candidate_dismissed.v1")
    yield EventType(profile.CustomersMerged, "crm.profile.customers_merged.v1")
    yield EventType(profile.CustomersUnmerged, "crm.profile.customers_unmerged.v1")
    yield EventType(profile.ConsentChanged, "crm.profile.consent_changed.v1")
    yield EventType(profile.CustomerRecordUpdated, "crm.profile.customer_updated.v1")
    yield EventType(profile.SegmentEntered, "crm.profile.segment_entered.v1")
    yield EventType(profile.SegmentExited, "crm.profile.segment_exited.v1")
    yield EventType(privacy.CustomerErased, "crm.profile.customer_erased.v1")
    for service, confirmed in privacy.CONFIRMATIONS.items():
        yield EventType(confirmed, f"crm.{service}.erasure_confirmed.v1")
    yield EventType(lifecycle.StageChanged, "crm.lifecycle.stage_changed.v1")
    yield EventType(lifecycle.ChurnRiskChanged, "crm.lifecycle.churn_risk_changed.v1")
    yield EventType(lifecycle.ValueClassChanged, "crm.lifecycle.value_class_changed.v1")
    yield EventType(loyalty.PointsEarned, "crm.loyalty.points_earned.v1")
    yield EventType(loyalty.TierChanged, "crm.loyalty.tier_changed.v1")
    yield EventType(loyalty.PointsPending, "crm.loyalty.points_pending.v1")
    yield EventType(loyalty.PointsReversed, "crm.loyalty.points_reversed.v1")
    yield EventType(loyalty.PointsRedeemed, "crm.loyalty.points_redeemed.v1")
    yield EventType(loyalty.PointsExpired, "crm.loyalty.points_expired.v1")
    yield EventType(loyalty.PointsAdjusted, "crm.loyalty.points_adjusted.v1")
    yield EventType(loyalty.OfferGranted, "crm.loyalty.offer_granted.v1")
    yield EventType(feedback.ComplaintOpened, "crm.feedback.complaint_opened.v1")
    yield EventType(feedback.ComplaintResolved, "crm.feedback.complaint_resolved.v1")
    yield EventType(feedback.SurveyAnswered, "crm.feedback.survey_answered.v1")
    yield EventType(feedback.SurveyInvited, "crm.feedback.survey_invited.v1")
    yield EventType(feedback.ComplaintEscalated, "crm.feedback.complaint_escalated.v1")
    yield EventType(feedback.InvitationExpired, "crm.feedback.invitation_expired.v1")
    yield EventType(feedback.PreferredChannelChanged, "crm.feedback.preferred_channel_changed.v1")
    yield EventType(feedback.ComplaintUpdated, "crm.feedback.complaint_updated.v1")
    yield EventType(gateway.WebhookDisabled, "crm.gateway.webhook_disabled.v1")


REGISTRY = Registry(_types())
