"""Profile's identity migration on existing data, on PostgreSQL and on SQLite: each
customer's owning source is its first reference's, and its e-mail and phone identities
are rebuilt from its record, so the two agree from the first start on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Uuid, column, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from services.profile.tables import customer, identity
from shared.db import UTCDateTime, create_engine
from shared.migrations import alembic_config
from tests.integration.services import Infra, create_database, drop_database

BEFORE = "17bfca11a9b2"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ALICE, BOB = uuid.uuid4(), uuid.uuid4()


@pytest.fixture(params=["postgresql", "sqlite"])
async def profile_db(
    request: pytest.FixtureRequest, infra: Infra, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'profile.db'}")
        yield engine
        await engine.dispose()
        return
    await create_database(infra, "profile")
    engine = create_engine(infra.database_url("profile"))
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(infra, "profile")


async def _migrate(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    step = command.downgrade if down else command.upgrade
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: step(alembic_config("profile", sync), revision))


# The tables as the first revision made them.
OLD_CUSTOMER = table(
    "customer",
    *(column(n) for n in ("tenant_id", "name", "email", "phone")),
    column("customer_id", Uuid),
    column("created_at", UTCDateTime),
    column("updated_at", UTCDateTime),
)
OLD_IDENTITY = table(
    "identity",
    *(column(n) for n in ("tenant_id", "kind", "value")),
    column("customer_id", Uuid),
    column("created_at", UTCDateTime),
)


async def test_existing_customers_get_their_owner_and_identities_equal_to_their_records(
    profile_db: AsyncEngine,
) -> None:
    await _migrate(profile_db, BEFORE)
    people = [(ALICE, "Li", "li@example.com", "+4511111111"), (BOB, None, "bob@example.com", None)]
    # Alice was met at the POS, then linked to a shop reference by her e-mail; a later
    # event changed her phone without the identity following (the old behaviour).
    identities = [
        ("ref:shop", "S-1", ALICE, T0 + timedelta(days=1)),
        ("ref:pos", "C-1", ALICE, T0),
        ("email", "li@example.com", ALICE, T0),
        ("phone", "+4500000000", ALICE, T0),
        ("ref:web", "W-1", BOB, T0),
    ]
    async with profile_db.begin() as conn:
        await conn.execute(
            OLD_CUSTOMER.insert(),
            [
                {"tenant_id": "default", "customer_id": c, "name": n, "email": e, "phone": p,
                 "created_at": T0, "updated_at": T0}
                for c, n, e, p in people
            ],
        )  # fmt: skip
        await conn.execute(
            OLD_IDENTITY.insert(),
            [
                {"tenant_id": "default", "kind": k, "value": v, "customer_id": c, "created_at": at}
                for k, v, c, at in identities
            ],
        )

    await _migrate(profile_db, "head")

    async with profile_db.connect() as conn:
        owners = {r.customer_id: r.owner_source for r in await conn.execute(select(customer))}
        found = {(r.kind, r.value, r.customer_id) for r in await conn.execute(select(identity))}
    assert owners == {ALICE: "pos", BOB: "web"}
    assert found == {
        ("ref:pos", "C-1", ALICE),
        ("ref:shop", "S-1", ALICE),
        ("email", "li@example.com", ALICE),
        ("phone", "+4511111111", ALICE),
        ("ref:web", "W-1", BOB),
        ("email", "bob@example.com", BOB),
    }
    await _migrate(profile_db, BEFORE, down=True)
    async with profile_db.connect() as conn:
        assert len((await conn.execute(select(OLD_IDENTITY))).all()) == 6
