"""What feedback knows of the customers it may invite: their lifecycle stage and
consent (folded from lifecycle's and profile's events), their last invitation, and
their open complaints; one ``respondent`` row per customer is the lock the sweep holds
while it invites them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.domain.audience import Audience, Dated
from services.feedback.store.complaints import open_counts
from services.feedback.store.rows import locked
from services.feedback.tables import consent, respondent
from shared.db import insert_ignoring_conflicts, keys_in, upsert
from shared.events.profile import ConsentChannel

Key = tuple[str, uuid.UUID]  # (tenant, customer)
ConsentKey = tuple[str, uuid.UUID, str, str]  # (tenant, customer, channel, purpose)
SURVEYS = "surveys"


async def add_respondents(conn: AsyncConnection, keys: Iterable[Key]) -> None:
    """A respondent row for each customer that has none yet."""
    rows = [{"tenant_id": t, "customer_id": c} for t, c in sorted(set(keys))]
    await insert_ignoring_conflicts(conn, respondent, rows)


async def lock_audience(conn: AsyncConnection, keys: Collection[Key]) -> dict[Key, Audience]:
    """The audience facts of these customers, each customer's row locked, or skipped (left
    out of the answer) while another replica or consumer holds it."""
    if not keys:
        return {}
    await add_respondents(conn, keys)
    r = respondent.c
    query = (
        select(r.tenant_id, r.customer_id, r.stage, r.last_invited_at)
        .where(keys_in(conn, [r.tenant_id, r.customer_id], keys))
        .with_for_update(skip_locked=True)
    )
    held = {(t, c): (stage, last) for t, c, stage, last in await conn.execute(query)}
    counts = await open_counts(conn, held.keys())
    consents = await survey_consents(conn, held.keys())
    return {
        key: Audience(stage, counts.get(key, 0), last, consents.get(key, {}))
        for key, (stage, last) in held.items()
    }


async def save_last_invited(conn: AsyncConnection, invited: Mapping[Key, datetime]) -> None:
    """Record when each customer was last invited."""
    rows = [
        {"tenant_id": t, "customer_id": c, "last_invited_at": at} for (t, c), at in invited.items()
    ]
    await upsert(conn, respondent, rows, key=["tenant_id", "customer_id"])


async def survey_consents(
    conn: AsyncConnection, keys: Collection[Key]
) -> dict[Key, dict[ConsentChannel, bool]]:
    """Each customer's latest consent decision for surveys, by channel."""
    if not keys:
        return {}
    c = consent.c
    query = select(c.tenant_id, c.customer_id, c.channel, c.granted).where(
        keys_in(conn, [c.tenant_id, c.customer_id], keys), c.purpose == SURVEYS
    )
    found: dict[Key, dict[ConsentChannel, bool]] = {}
    for tenant, customer, channel, granted in await conn.execute(query):
        found.setdefault((tenant, customer), {})[channel] = granted
    return found


async def consent_decisions(
    conn: AsyncConnection, keys: Collection[ConsentKey]
) -> dict[ConsentKey, Dated[bool] | None]:
    """The recorded decisions of these (tenant, customer, channel, purpose), locked."""
    c = consent.c
    columns = [c.tenant_id, c.customer_id, c.channel, c.purpose]
    query = select(consent).where(keys_in(conn, columns, keys))
    return {
        (r.tenant_id, r.customer_id, r.channel, r.purpose): Dated(r.granted, r.at)
        for r in await locked(conn, query)
    }


async def save_consents(conn: AsyncConnection, decided: Mapping[ConsentKey, Dated[bool]]) -> None:
    """Record these consent decisions as each customer's latest."""
    rows = [
        {"tenant_id": t, "customer_id": c, "channel": ch, "purpose": p,
         "granted": d.value, "at": d.at}
        for (t, c, ch, p), d in decided.items()
    ]  # fmt: skip
    await upsert(conn, consent, rows, key=["tenant_id", "customer_id", "channel", "purpose"])


# The facts feedback folds on a respondent's row, each a column with its ``<name>_at``.
FOLDED = ("stage", "tier", "value_class")


async def folded(
    conn: AsyncConnection, fact: str, keys: Collection[Key]
) -> dict[Key, Dated[str] | None]:
    """Each customer's folded ``fact`` (stage, tier or value class) and since when (None:
    none known), their rows locked."""
    if fact not in FOLDED:
        raise ValueError(f"feedback folds {FOLDED}, not {fact!r}")
    r = respondent.c
    query = select(respondent).where(keys_in(conn, [r.tenant_id, r.customer_id], keys))
    found: dict[Key, Dated[str] | None] = {}
    for row in await locked(conn, query):
        value, at = row[fact], row[f"{fact}_at"]
        found[(row["tenant_id"], row["customer_id"])] = Dated(value, at) if at else None
    return found


async def save_folded(conn: AsyncConnection, fact: str, moved: Mapping[Key, Dated[str]]) -> None:
    """Record these as each customer's current ``fact``."""
    if fact not in FOLDED:
        raise ValueError(f"feedback folds {FOLDED}, not {fact!r}")
    rows = [
        {"tenant_id": t, "customer_id": c, fact: d.value, f"{fact}_at": d.at}
        for (t, c), d in moved.items()
    ]
    await upsert(conn, respondent, rows, key=["tenant_id", "customer_id"])
