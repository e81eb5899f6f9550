"""Profile on real PostgreSQL and Kafka: an operator merges two customers they name and
takes the merge apart again; profile's tables come back exactly as they were (identity
rows with their first and last seen), both events are on crm.profile under the
survivor, and the 360 reads one customer, then two again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from services.profile.tables import customer, identity
from shared.bus.kafka import KafkaBus
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)
from tests.integration.test_profile_service import LI, Profile, inbound


@pytest.fixture(scope="module")
async def profile(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "profile")
    try:
        async with run_service(infra, "profile") as service:
            yield service
    finally:
        await drop_database(infra, "profile")


async def _state(profile: RunningService, tenant: str) -> tuple[set[Any], set[Any]]:
    """Every customer row (but its update time) and every identity row of the tenant."""
    async with profile.runtime.db.engine.connect() as conn:
        rows = (await conn.execute(select(customer).where(customer.c.tenant_id == tenant))).all()
        held = (await conn.execute(select(identity).where(identity.c.tenant_id == tenant))).all()
    skip = {"updated_at"}
    records = {tuple((k, str(v)) for k, v in r._mapping.items() if k not in skip) for r in rows}
    return records, {tuple(r) for r in held}


async def test_a_merge_and_its_undo_leave_profile_exactly_as_it_was(
    profile: RunningService, bus: KafkaBus, tenant: str, infra: Infra
) -> None:
    ops = Profile(profile, tenant)
    await publish_events(
        bus,
        inbound(tenant, "pos", "O-1", source="pos", external_id="C-1", name="Li",
                phone="+4587654321"),
        inbound(tenant, "shop", "S-O-1", source="shop", external_id="S-1", email=LI,
                phone="+4512345678", name="Li Wei"),
    )  # fmt: skip
    li, shop = await ops.known("pos", "C-1"), await ops.known("shop", "S-1")
    for customer_id in (li, shop):
        await eventually(lambda c=customer_id: _orders(ops, c, 1))
    before = await _state(profile, tenant)
    body = {"survivor_id": li, "merged_id": shop, "reason": "same", "decided_by": "api-key:x"}

    merged = await profile.client.post("/v1/customers/merges", json=body, headers=ops.headers)
    assert merged.status_code == 201, merged.text
    merge_id = merged.json()["merge_id"]
    assert merged.json()["moved"]["filled"] == {"email": LI}
    assert merged.json()["moved"]["released"] == [["phone", "+4512345678"]]
    assert await ops.lookup("shop", "S-1") == li
    await eventually(lambda: _orders(ops, li, 2))
    assert (await ops.view(shop))["customer_id"] == li

    undo = await profile.client.post(
        f"/v1/customers/merges/{merge_id}/undo",
        json={"reason": "twins", "undone_by": "api-key:y"},
        headers=ops.headers,
    )
    assert undo.status_code == 200, undo.text
    assert await _state(profile, tenant) == before
    assert await ops.lookup("shop", "S-1") == shop
    await eventually(lambda: _orders(ops, li, 1))
    assert (await ops.view(shop))["customer_id"] == shop
    assert (await ops.view(li))["email"] is None
    announced = [
        orjson.loads(r.value)
        for r in await about(infra.settings.kafka_servers, infra.prefix, "crm.profile", li)
    ]
    types = [e["type"] for e in announced if e["data"].get("merge_id") == merge_id]
    assert types == ["crm.profile.customers_merged.v1", "crm.profile.customers_unmerged.v1"]
    again = await profile.client.post(
        f"/v1/customers/merges/{merge_id}/undo", json={"reason": "x"}, headers=ops.headers
    )
    assert (again.status_code, again.json()["type"]) == (409, "urn:crm:problem:merge-undone")


async def _orders(ops: Profile, customer_id: str, count: int) -> bool:
    return (await ops.view(customer_id))["stats"]["orders"] == count  # type: ignore[no-any-return]
