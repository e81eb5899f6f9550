"""Set-based writes through asyncpg (``shared.bulk``) belong to the unit of work they run
in: written with it, rolled back with it, even as its very first statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import insert_ignoring_conflicts, insert_new, keys_in, upsert
from shared.uow import Database
from tests.integration.harness import COUNTER, INBOX

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def _claims(consumer: str, count: int) -> list[dict[str, object]]:
    return [
        {"consumer": consumer, "event_id": uuid.uuid4(), "processed_at": NOW} for _ in range(count)
    ]


async def _claimed(engine: AsyncEngine, consumer: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).where(INBOX.c.consumer == consumer)))


async def test_a_bulk_insert_as_first_statement_rolls_back_with_its_unit_of_work(
    db: Database, engine: AsyncEngine
) -> None:
    consumer = f"bulk-{uuid.uuid4().hex[:8]}"
    async with db.unit_of_work() as uow:
        await insert_ignoring_conflicts(uow.conn, INBOX, _claims(consumer, 3))
        assert await _claimed(engine, consumer) == 0  # not visible outside before commit
    assert await _claimed(engine, consumer) == 0  # left without commit: rolled back

    async with db.unit_of_work() as uow:
        await insert_ignoring_conflicts(uow.conn, INBOX, _claims(consumer, 3))
        await uow.commit()
    assert await _claimed(engine, consumer) == 3


async def test_insert_new_returns_only_the_rows_it_inserted(db: Database) -> None:
    consumer = f"bulk-{uuid.uuid4().hex[:8]}"
    first = _claims(consumer, 2)
    async with db.unit_of_work() as uow:
        assert await insert_new(uow.conn, INBOX, first, returning="event_id") == {
            r["event_id"] for r in first
        }
        again = [*first, *_claims(consumer, 1)]
        fresh = await insert_new(uow.conn, INBOX, again, returning="event_id")
        await uow.commit()
    assert fresh == {again[-1]["event_id"]}


async def test_upsert_overwrites_existing_rows_and_inserts_new_ones(
    db: Database, engine: AsyncEngine
) -> None:
    a, b = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    async with db.unit_of_work() as uow:
        await upsert(uow.conn, COUNTER, [{"key": a, "value": 1}], key=("key",))
        await upsert(
            uow.conn, COUNTER, [{"key": a, "value": 5}, {"key": b, "value": 2}], key=("key",)
        )
        await uow.commit()
    async with engine.connect() as conn:
        rows = dict((await conn.execute(select(COUNTER).where(COUNTER.c.key.in_([a, b])))).all())
    assert rows == {a: 5, b: 2}


async def test_keys_in_finds_the_rows_of_the_keys_in_one_statement_text(
    db: Database, engine: AsyncEngine
) -> None:
    """Whatever the number of keys, one statement (arrays unnested into rows), not a
    literal row list that PostgreSQL parses and plans anew for every size."""
    consumer = f"keys-{uuid.uuid4().hex[:8]}"
    rows = _claims(consumer, 5)
    async with db.unit_of_work() as uow:
        await insert_ignoring_conflicts(uow.conn, INBOX, rows)
        await uow.commit()
    wanted = [(consumer, r["event_id"]) for r in rows[:3]] + [(consumer, uuid.uuid4())]
    texts = set()
    async with engine.connect() as conn:
        for keys in (wanted, wanted[:1]):
            query = select(INBOX.c.event_id).where(
                keys_in(conn, [INBOX.c.consumer, INBOX.c.event_id], keys)
            )
            found = set((await conn.execute(query)).scalars())
            assert found == {k[1] for k in keys} & {r["event_id"] for r in rows}
            texts.add(str(query.compile(conn.sync_connection)))
    assert len(texts) == 1
