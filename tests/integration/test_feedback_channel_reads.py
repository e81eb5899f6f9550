"""Channel analytics' reshaped read on real PostgreSQL (DISTINCT ON, JIT off) and on
SQLite (row numbering): orders kept a batch at a time through the store (some again),
with answers, complaints (recovery cases among them) and consent decisions around, and
for random windows every channel figure equals what the old read
(``tests.handlers.channel_oracle``) answers."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from services.feedback import channels, store
from services.feedback.tables import complaint, consent, survey_response
from shared.db import create_engine, insert_rows
from shared.migrations import alembic_config
from tests.handlers.channel_oracle import old_channel_figures, random_windows
from tests.integration.services import Infra, create_database, drop_database

START = datetime(2026, 3, 27, tzinfo=UTC)  # a week before a summer-time change
DAYS = 15
TENANTS = ("t-one", "t-two")
CHANNELS = ("web", "app", "store", "email", "sms")
NAME = "feedback_channel_reads"


@pytest.fixture(params=["postgresql", "sqlite"])
async def feedback_db(
    request: pytest.FixtureRequest, infra: Infra, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'feedback.db'}")
        yield engine
        await engine.dispose()
        return
    await create_database(infra, NAME)
    engine = create_engine(infra.database_url(NAME))
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(infra, NAME)


async def _migrate(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda sync: command.upgrade(alembic_config("feedback", sync), revision)
        )


def _at(rng: random.Random) -> datetime:
    day = START + timedelta(days=rng.randrange(DAYS))
    return day if rng.random() < 0.1 else day + timedelta(microseconds=rng.randrange(86400 * 10**6))


def _orders(rng: random.Random, people: dict[str, list[uuid.UUID]], n: int) -> list[Any]:
    found = []
    for _ in range(n):
        tenant = rng.choice(TENANTS)
        found.append(store.ChannelOrder(
            tenant, rng.choice(people[tenant]), f"O-{rng.randrange(10**5)}",
            rng.choice(CHANNELS[:3]), rng.randrange(1, 10**6), rng.choice(["EUR", "CHF"]),
            _at(rng),
        ))  # fmt: skip
    return found


async def _around(
    engine: AsyncEngine, rng: random.Random, people: dict[str, list[uuid.UUID]]
) -> None:
    """Answers, complaints and consent decisions for the figures that join them: answers
    lean to email and sms, so the consent decided on them often settles a preference."""
    answers, complaints, decisions = [], [], {}
    for tenant, who in ((t, c) for t in TENANTS for c in people[t]):
        for _ in range(rng.randrange(6)):
            answers.append({
                "response_id": uuid.UUID(int=rng.getrandbits(128)), "tenant_id": tenant,
                "customer_id": who, "survey": rng.choice(["nps", "csat"]),
                "score": rng.randrange(11), "responded_at": _at(rng),
                "channel": rng.choice([*CHANNELS, "email", "sms", None]),
            })  # fmt: skip
        if rng.random() < 0.4:
            opened = _at(rng)
            complaints.append({
                "complaint_id": uuid.UUID(int=rng.getrandbits(128)), "tenant_id": tenant,
                "customer_id": who, "complaint_ref": f"K-{len(complaints)}", "severity": "low",
                "category": rng.choice(["delivery", "detractor_recovery"]),
                "channel": rng.choice(CHANNELS), "text": "", "status": "open",
                "opened_at": opened, "due_at": opened,
            })  # fmt: skip
        for channel in rng.sample(["email", "sms"], rng.randrange(3)):
            for purpose in rng.sample(["surveys", "marketing"], rng.randrange(1, 3)):
                decisions[(tenant, who, channel, purpose)] = rng.random() < 0.3
    async with engine.begin() as conn:
        await insert_rows(conn, survey_response, answers)
        await insert_rows(conn, complaint, complaints)
        await insert_rows(conn, consent, [
            {"tenant_id": t, "customer_id": c, "channel": ch, "purpose": p, "granted": g,
             "at": START} for (t, c, ch, p), g in decisions.items()
        ])  # fmt: skip


async def test_the_read_answers_what_the_old_read_answered(feedback_db):
    engine, rng = feedback_db, random.Random(7)
    people = {t: [uuid.UUID(int=rng.getrandbits(128)) for _ in range(25)] for t in TENANTS}
    await _migrate(engine, "head")
    kept: list[Any] = []
    for _ in range(8):
        batch = _orders(rng, people, 60) + rng.sample(kept, min(len(kept), 10))  # some again
        async with engine.begin() as conn:
            await store.add_channel_orders(conn, batch)
        kept += batch

    await _around(engine, rng, people)
    compared = 0
    for window in random_windows(rng, START, DAYS, 30):
        for tenant in TENANTS:
            expected = await old_channel_figures(engine, tenant, window)
            assert await channels.channel_figures(engine, tenant, window) == expected, window
            compared += bool(expected)
    assert compared > 30  # most windows held figures
