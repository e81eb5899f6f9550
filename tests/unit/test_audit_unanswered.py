"""A forwarded decision is recorded once whatever happens between the service's answer
and the audit entry (``services.gateway.audit``), on SQLite migrated as the gateway
migrates: a 2xx replaces the note by the entry, a refusal or a request that never
reached the service leaves nothing, and a request cut short (its gateway stopped) is
recorded as unanswered once no request can still be waiting, exactly once, even when its
answer comes after all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import Response
from sqlalchemy import MetaData, select

from services.gateway import audit
from services.gateway.keys import Principal
from services.gateway.tables import audit_entry, audit_pending, outbox
from shared.clock import FrozenClock
from shared.db import create_engine
from shared.migrations import migrate
from shared.problems import Problem
from shared.uow import Database

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
AFTER = audit.unanswered_after(5.0)
CALLER = Principal(uuid.uuid4(), "acme", "crm-desk", frozenset({"admin"}))
REDEEMED = audit.Decision(
    "loyalty.redeemed", "customer:c-1", after={"points": 100, "reason": "gift"}, dedupe="k:1"
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    await migrate(engine, "gateway")
    try:
        yield Database(engine, outbox, FrozenClock(T0))
    finally:
        await engine.dispose()


async def rows(db: Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The audit entries and the notes still waiting."""
    async with db.engine.connect() as conn:
        entries = (await conn.execute(select(audit_entry))).mappings().all()
        notes = (await conn.execute(select(audit_pending))).mappings().all()
    return [dict(e) for e in entries], [dict(n) for n in notes]


def answered(status: int, body: bytes = b"{}") -> Any:
    async def forward() -> Response:
        return Response(body, status, media_type="application/json")

    return forward


def later(db: Database, by: timedelta) -> None:
    assert isinstance(db.clock, FrozenClock)
    db.clock.move_to(db.clock.now() + by)


async def test_an_applied_decision_is_one_entry_and_leaves_no_note(db: Database) -> None:
    answer = await audit.forwarded(db, CALLER, REDEEMED, answered(201))
    assert answer.status_code == 201
    entries, notes = await rows(db)
    assert notes == []
    [entry] = entries
    assert (entry["action"], entry["target"], entry["dedupe_key"]) == (
        "loyalty.redeemed",
        "customer:c-1",
        "k:1",
    )
    assert entry["change"]["after"] == {"points": 100, "reason": "gift"}
    assert "outcome" not in entry["change"]


async def test_a_refusal_and_a_request_that_never_reached_the_service_leave_nothing(
    db: Database,
) -> None:
    assert (await audit.forwarded(db, CALLER, REDEEMED, answered(409))).status_code == 409

    async def unreachable() -> Response:
        try:
            raise httpx.ConnectError("refused")
        except httpx.ConnectError as error:
            raise Problem(503, "service-unavailable", "down") from error

    with pytest.raises(Problem):
        await audit.forwarded(db, CALLER, REDEEMED, unreachable)
    assert await rows(db) == ([], [])


async def test_a_request_cut_short_is_recorded_once_as_unanswered(db: Database) -> None:
    reached = asyncio.Event()

    async def hangs() -> Response:
        reached.set()
        await asyncio.Event().wait()  # the service never answers before the gateway stops
        raise AssertionError("unreachable")

    cut = asyncio.create_task(audit.forwarded(db, CALLER, REDEEMED, hangs))
    await reached.wait()
    cut.cancel()  # what a stopping gateway does to its requests (or kill -9: no code at all)
    with pytest.raises(asyncio.CancelledError):
        await cut
    entries, [note] = await rows(db)
    assert entries == [] and note["action"] == "loyalty.redeemed"

    later(db, AFTER - timedelta(seconds=1))  # a request may still be waiting for it
    assert await audit.settle_unanswered(db, AFTER) == 0
    later(db, timedelta(seconds=2))
    assert await audit.settle_unanswered(db, AFTER) == 1
    assert await audit.settle_unanswered(db, AFTER) == 0
    [entry], notes = await rows(db)
    assert notes == []
    assert (entry["entry_id"], entry["at"]) == (note["entry_id"], T0)
    assert entry["change"] == {
        "before": None,
        "after": {"points": 100, "reason": "gift"},
        "outcome": "unanswered",
    }
    assert entry["actor_key_id"] == CALLER.key_id and entry["tenant_id"] == "acme"


async def test_an_answer_after_the_note_was_settled_records_nothing_more(db: Database) -> None:
    release = asyncio.Event()

    async def slow() -> Response:
        await release.wait()
        return Response(b"{}", 201)

    slow_request = asyncio.create_task(audit.forwarded(db, CALLER, REDEEMED, slow))
    await asyncio.sleep(0.05)
    later(db, AFTER + timedelta(seconds=1))
    assert await audit.settle_unanswered(db, AFTER) == 1
    release.set()
    assert (await slow_request).status_code == 201
    entries, notes = await rows(db)
    assert notes == [] and [e["change"]["outcome"] for e in entries] == ["unanswered"]


async def test_a_decision_known_only_from_the_answer(db: Database) -> None:
    asked = audit.Decision("rules.changed", "rules:loyalty")
    async with audit.asking(db, CALLER, asked) as ask:
        answer = await answered(200, b'{"version": 3}')()
        version = {"version": 3}
        await ask.recorded(answer, audit.Decision("rules.changed", "rules:loyalty", after=version))
    async with audit.asking(db, CALLER, asked):
        pass  # refused: the block returned without recording
    [entry], notes = await rows(db)
    assert notes == [] and entry["change"]["after"] == {"version": 3}


async def test_many_notes_are_settled_in_batches(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.conn.execute(
            audit_pending.insert(),
            [
                {
                    "entry_id": uuid.uuid4(),
                    "tenant_id": "acme",
                    "at": T0,
                    "actor_key_id": CALLER.key_id,
                    "actor_partner": "crm-desk",
                    "action": "loyalty.swept",
                    "target": "sweep:loyalty",
                    "change": {},
                }
                for _ in range(audit.SETTLE_BATCH + 3)
            ],
        )
        await uow.commit()
    later(db, AFTER + timedelta(seconds=1))
    assert await audit.settle_unanswered(db, AFTER) == audit.SETTLE_BATCH + 3
    entries, notes = await rows(db)
    assert notes == [] and len(entries) == audit.SETTLE_BATCH + 3


async def test_the_migration_creates_the_table_the_code_uses(db: Database) -> None:
    only = MetaData()
    audit_pending.to_metadata(only)
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), only)
        )
    assert [d for d in diff if "audit_pending" in repr(d)] == []
