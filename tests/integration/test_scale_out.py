"""Scale-out, proven: two replicas of each consumer service (profile, lifecycle, loyalty,
feedback) share the work of a load on real PostgreSQL and Kafka; one replica of each is
stopped gracefully mid-run and a new one joins, then the other is killed with SIGKILL
mid-run. The partitions move to the survivors, every event is applied exactly once in
effect (each service's state equals what the load must give), and no sweep or relay does
its work twice: each due invitation is sent once, and before the kill no event reached
Kafka twice (after a SIGKILL a relay may resend the one batch it had in flight, which
the consumers' inboxes absorb).

A node (``tests.integration.replica_node``) is a process holding one replica of each
of the four services; two nodes are two replicas of each, on the services' shared
databases and consumer groups, under topics of the test's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared import topics
from shared.bus import Message
from shared.bus.kafka import KafkaBus
from shared.events import decode, encode, new_event
from shared.events.activity import CustomerRef, Inbound, PurchaseCompleted
from shared.settings import ServiceSettings
from tests.integration.conftest import ROOT, read_topic
from tests.integration.nodes import Node, members_hold_all, until
from tests.integration.replica_node import SERVICES
from tests.integration.services import Infra, create_database, drop_database

CUSTOMERS = 40
PURCHASES = 4  # per customer, published in waves: the k-th purchase of everyone at once
AMOUNT = 2500
GROUPS = {
    "profile-inbound": topics.INBOUND,
    "lifecycle-activity": topics.ACTIVITY,
    "loyalty-activity": topics.ACTIVITY,
    "feedback-activity": topics.ACTIVITY,
}
OUTPUTS = (topics.ACTIVITY, topics.PROFILE, topics.LIFECYCLE, topics.LOYALTY, topics.FEEDBACK)


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """This test runs longer than the others (nodes start, leave and die: under a minute
    on an idle machine); its own waits are bounded, this is the last resort."""
    faulthandler.dump_traceback_later(600, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
async def own(settings: ServiceSettings, servers: str) -> AsyncIterator[Infra]:
    """Topics and databases of this test's own: its consumer groups see no other test's
    events, and its state only its load."""
    run = uuid.uuid4().hex[:8]
    infra = Infra(settings, f"so{run}.", f"so{run}")
    script = await asyncio.create_subprocess_exec(
        sys.executable, "deploy/local/topics.py", "--prefix", infra.prefix, "--timeout", "30",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await script.communicate()
    assert script.returncode == 0, output.decode()
    for name in SERVICES:
        await create_database(infra, name)
    try:
        yield infra
    finally:
        for name in SERVICES:
            await drop_database(infra, name)
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        try:
            await admin.delete_topics([infra.prefix + name for name in topics.PARTITIONS])
        finally:
            await admin.close()


async def start_node(infra: Infra, name: str, logs: Path) -> Node:
    return await Node.start(infra.prefix, infra.run, name, logs)


async def shared_by(servers: str, infra: Infra, replicas: int) -> bool:
    """Whether every consumer group of the test has ``replicas`` members holding all of
    its topic's partitions between them."""
    return await members_hold_all(servers, infra.prefix, GROUPS, replicas)


def wave(tenant: str, number: int) -> list[Message]:
    """The ``number``-th purchase of every customer, as the gateway puts it on crm.inbound;
    three days ago (their CSAT invitations are due at once)."""
    at = datetime.now(UTC) - timedelta(days=3) + timedelta(hours=number)
    messages = []
    for c in range(CUSTOMERS):
        ref = CustomerRef(source="pos", external_id=f"C-{c}")
        activity = PurchaseCompleted(
            order_id=f"O-{c}-{number}", amount_minor=AMOUNT, currency="EUR", channel="store"
        )
        payload = Inbound[PurchaseCompleted](
            partner="pos", partner_event_id=f"{c}-{number}", customer=ref, activity=activity
        )
        event = new_event(payload, source="/partners/pos", tenant_id=tenant,
                          key=f"pos:C-{c}", time=at, partner="pos")  # fmt: skip
        messages.append(Message(event.topic, event.partitionkey.encode(), encode(event)))
    return messages


async def _state(infra: Infra, tenant: str) -> dict[str, object]:
    """What each service's database holds of the tenant, in the terms of the load."""
    s = infra.settings
    found: dict[str, object] = {}
    queries = {
        "profile": "SELECT count(*), coalesce(sum(v.orders), 0), count(DISTINCT v.orders)"
        " FROM customer_view v WHERE v.tenant_id = $1",
        "lifecycle": "SELECT count(*), coalesce(sum(orders), 0), coalesce(sum(revenue_minor), 0)"
        " FROM customer_state WHERE tenant_id = $1",
        "loyalty": "SELECT count(DISTINCT customer_id), count(*), count(DISTINCT ref)"
        " FROM ledger_entry WHERE tenant_id = $1 AND kind = 'earn'",
        "feedback": "SELECT count(DISTINCT customer_id), count(*), count(invited_at)"
        " FROM survey_invitation WHERE tenant_id = $1",
    }
    for name, query in queries.items():
        conn = await asyncpg.connect(host=s.pg_host, port=s.pg_port, user=s.pg_user,
                                     password=s.pg_password.get_secret_value() or None,
                                     database=infra.database(name))  # fmt: skip
        try:
            found[name] = tuple(await conn.fetchrow(query, tenant))
        finally:
            await conn.close()
    return found


EXPECTED = {
    "profile": (CUSTOMERS, CUSTOMERS * PURCHASES, 1),  # every view has PURCHASES orders
    "lifecycle": (CUSTOMERS, CUSTOMERS * PURCHASES, CUSTOMERS * PURCHASES * AMOUNT),
    "loyalty": (CUSTOMERS, CUSTOMERS * PURCHASES, CUSTOMERS * PURCHASES),
    "feedback": (CUSTOMERS, CUSTOMERS, CUSTOMERS),  # one invitation each (throttled), sent
}


async def _published(servers: str, infra: Infra, tenant: str) -> Counter[tuple[str, str]]:
    """How often each of the tenant's events is on the services' topics, by (type, id)."""
    seen: Counter[tuple[str, str]] = Counter()
    for topic in OUTPUTS:
        for record in await read_topic(servers, infra.prefix, topic):
            event = decode(record.value)
            if event.tenantid == tenant:
                seen[(event.type, str(event.id))] += 1
    return seen


async def test_two_replicas_share_the_work_and_lose_nothing_when_one_leaves_or_dies(
    own: Infra, servers: str, tmp_path: Path
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    bus = KafkaBus(servers, "crm-it-scale-out", topic_prefix=own.prefix)
    await bus.start()
    nodes: list[Node] = []
    try:
        a, b = (
            await Node.start(own.prefix, own.run, "a", tmp_path),
            await Node.start(own.prefix, own.run, "b", tmp_path),
        )
        nodes += [a, b]
        await asyncio.gather(a.ready(GROUPS), b.ready(GROUPS))
        await until(lambda: shared_by(servers, own, 2))

        await bus.publish(wave(tenant, 1))
        # Both replicas of every service apply their share of the first wave.
        await until(lambda: all(a.applied[g] and b.applied[g] for g in GROUPS))

        await bus.publish(wave(tenant, 2))
        await a.stop()  # gracefully, mid-run
        await until(lambda: shared_by(servers, own, 1))  # b holds every partition
        c = await start_node(own, "c", tmp_path)
        nodes.append(c)
        await c.ready(GROUPS)
        await until(lambda: shared_by(servers, own, 2))
        await bus.publish(wave(tenant, 3))
        await until(lambda: sum(c.applied.values()) > 0)
        before_kill = await _published(servers, own, tenant)
        await b.kill()  # mid-run, no goodbye: its partitions move once its session expires
        await until(lambda: shared_by(servers, own, 1))  # c holds every partition
        settled = c.applied.copy()
        await bus.publish(wave(tenant, 4))  # on every partition: c alone applies it

        with contextlib.suppress(TimeoutError):  # the state says what differs
            await until(lambda: _complete(own, tenant))
        assert await _state(own, tenant) == EXPECTED
        # The node reports its counts every 0.2 s, after its commits: the state may be
        # complete a report before the counts say so.
        with contextlib.suppress(TimeoutError):
            await until(lambda: all(c.applied[g] - settled[g] >= CUSTOMERS for g in GROUPS), 10)
        for group in GROUPS:
            assert c.applied[group] - settled[group] >= CUSTOMERS, group
    finally:
        for each in nodes:
            await each.end()
        await bus.stop()

    assert [key for key, n in before_kill.items() if n > 1] == []  # no relay sent twice
    after = await _published(servers, own, tenant)
    resent = sum(n - 1 for n in after.values())
    assert resent <= ServiceSettings().relay_batch_size * len(SERVICES)
    # What the load causes, once: a purchase on crm.activity per inbound purchase, and one
    # invitation sent per customer by the replicas' sweeps.
    kinds = Counter(kind for kind, _ in after)
    assert kinds["crm.activity.purchase_completed.v1"] == CUSTOMERS * PURCHASES
    assert kinds["crm.feedback.survey_invited.v1"] == CUSTOMERS


async def _complete(infra: Infra, tenant: str) -> bool:
    return await _state(infra, tenant) == EXPECTED
