"""Schemathesis hooks for the contract run: what the OpenAPI document says in words and
JSON Schema cannot, applied to the values schemathesis generates as valid.

JSON Schema has no notion of "now" and no relation between two fields, so some of
the API's documented rules are written in the operations' descriptions only:
an event's ``occurred_at`` lies between ``CRM_MAX_EVENT_AGE_DAYS`` ago and now, a
key's ``expires_at`` after now and within ten years, a window's ``from`` not after
``to``, a churn model is fitted ``as_of`` a past instant with purchase history
behind it (the demo data's last 30 days), a webhook's host resolves to public
addresses, and a consent decision is taken ``at`` no later than now. A generated
valid instant outside its
window is moved into it; nothing else is touched, and cases generated to be invalid
are left as they are, so the negative phase still tries every bound of the schema.

One check is added (``batch_items_answered_by_their_schema``), for the one operation
whose answer is a list of outcomes rather than one status.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import schemathesis

from services.gateway.event_schema import EVENT
from services.gateway.ingestion import MAX_BATCH
from shared.instants import INSTANT_PATTERN
from shared.problems import problem_type

_INSTANT = re.compile(INSTANT_PATTERN.strip("^$"))
MAX_EVENT_AGE = timedelta(days=int(os.environ.get("CRM_MAX_EVENT_AGE_DAYS", "3650")))


def _instant(value: Any) -> datetime | None:
    if isinstance(value, str) and _INSTANT.fullmatch(value):
        return datetime.fromisoformat(value)
    return None


def _within(value: Any, earliest: timedelta, latest: timedelta) -> Any:
    """``value`` if it is an instant within [now + earliest, now + latest]; another instant
    of that window if it is an instant outside it; anything else unchanged."""
    at = _instant(value)
    if at is None:
        return value
    now = datetime.now(UTC)
    low, high = now + earliest, now + latest
    if low <= at <= high:
        return value
    span = int((high - low).total_seconds())
    moved = low + timedelta(seconds=int(at.timestamp()) % span, microseconds=at.microsecond)
    return moved.isoformat().replace("+00:00", "Z")


def _event(event: Any) -> None:
    if isinstance(event, dict) and "occurred_at" in event:
        event["occurred_at"] = _within(
            event["occurred_at"], -MAX_EVENT_AGE + timedelta(days=1), -timedelta(minutes=1)
        )


def _one_event(case: Any) -> None:
    _event(case.body)


def _batch(case: Any) -> None:
    if isinstance(case.body, dict) and isinstance(case.body.get("events"), list):
        for event in case.body["events"]:
            _event(event)


def _new_key(case: Any) -> None:
    if isinstance(case.body, dict) and "expires_at" in case.body:
        case.body["expires_at"] = _within(
            case.body["expires_at"], timedelta(days=1), timedelta(days=3650)
        )


def _fit(case: Any) -> None:
    if isinstance(case.body, dict) and "as_of" in case.body:
        case.body["as_of"] = _within(case.body["as_of"], -timedelta(days=30), -timedelta(minutes=1))


def _window(case: Any) -> None:
    """``from`` not after ``to``, nor after now when ``to`` is left to default to now."""
    query = case.query or {}
    start, end = _instant(query.get("from")), _instant(query.get("to"))
    if start and end and start > end:
        query["from"], query["to"] = query["to"], query["from"]
    elif start and "to" not in query:
        query["from"] = _within(query["from"], -timedelta(days=3650), -timedelta(minutes=1))


def _webhook(case: Any) -> None:
    """A subscription's URL must resolve to public addresses, which no generated host
    does here (no DNS): the run lists ``hooks.example.com`` in CRM_WEBHOOK_ALLOWED_HOSTS
    and a valid case subscribes a URL of that host."""
    if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
        case.body["url"] = "https://hooks.example.com/crm"


def _consent(case: Any) -> None:
    if isinstance(case.body, dict) and "at" in case.body:
        case.body["at"] = _within(case.body["at"], -timedelta(days=3650), -timedelta(minutes=1))


RULES: dict[tuple[str, str], Callable[[Any], None]] = {
    ("POST", "/v1/customers/{customer_id}/consent"): _consent,
    ("POST", "/v1/events"): _one_event,
    ("POST", "/v1/events/batch"): _batch,
    ("POST", "/v1/admin/api-keys"): _new_key,
    ("POST", "/v1/lifecycle/model/fit"): _fit,
    ("GET", "/v1/feedback/scores"): _window,
    ("GET", "/v1/lifecycle/winbacks"): _window,
    ("GET", "/v1/lifecycle/funnel/conversion"): _window,
    ("GET", "/v1/lifecycle/cohorts"): _window,
    ("GET", "/v1/loyalty/tiers/distribution"): _window,
    ("GET", "/v1/audit"): _window,
    ("POST", "/v1/webhooks"): _webhook,
}


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: Any) -> Any:
    """Apply the operation's rule to a case generated as valid."""
    rule = RULES.get((case.operation.method.upper(), case.operation.path))
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if rule is not None and not negative:
        rule(case)
    return case


# A batch is answered 202 with each event's own outcome ("one bad event never sinks the
# others", API.md), so the built-in negative_data_rejection, which wants the whole request
# refused, is off for it (schemathesis.toml); this check holds it to its own rule instead,
# in both directions: every event its schema refuses is rejected in the results, and (in
# a case generated as valid) every event it allows is accepted or a duplicate.
_EVENT = jsonschema_rs.validator_for(EVENT)
_SIZE_ONLY = problem_type("event-too-large")


@schemathesis.check
def batch_items_answered_by_their_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """Each event of a batch is rejected exactly when the event schema refuses it."""
    if (case.operation.method.upper(), case.operation.path) != ("POST", "/v1/events/batch"):
        return None
    if response.status_code != 202:
        return None
    body = case.body
    envelope = isinstance(body, dict) and set(body) == {"events"}
    events = body.get("events") if envelope else None
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_BATCH:
        raise AssertionError("A batch that is not {'events': [1 to 500 events]} was accepted")
    results = response.json()["results"]
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    for index, (event, result) in enumerate(zip(events, results, strict=True)):
        valid = _EVENT.is_valid(event)
        if not valid and result["status"] != "rejected":
            raise AssertionError(f"Event {index} violates the event schema but was {result}")
        refused = result["status"] == "rejected" and result["error"]["type"] != _SIZE_ONLY
        if valid and not negative and refused:
            raise AssertionError(f"Event {index} follows the event schema but was {result}")
    return True


# An import file is text: NDJSON goes on the wire as CSV does (schemathesis sends any
# text/* body as text already).
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
