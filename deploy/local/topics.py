"""Create the platform's Kafka topics on the local broker and verify them.

Run from the repo root with the repo's virtualenv:

    .venv/bin/python deploy/local/topics.py [--timeout SECONDS]

Bootstraps from CRM_KAFKA_BOOTSTRAP, else 127.0.0.1:${CRM_KAFKA_PORT:-59092}, with
the CRM_KAFKA_* security settings (shared.bus.security). Waits (bounded) until the
broker answers metadata, creates every topic of shared.topics.PARTITIONS that is
missing (replication factor 1: one broker) with TOPIC_CONFIG, checks each
topic's partition count, then brings existing topics' TOPIC_CONFIG in line with
an incremental alter (only those keys: an operator's other settings stay).
Exit status 0 only if all match.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

# The script lives in deploy/local/; `shared` is a top-level package of the repo.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.admin.config_resource import ConfigResourceType  # noqa: E402
from aiokafka.errors import KafkaError, for_code  # noqa: E402
from aiokafka.protocol.api import Request, RequestStruct, Response  # noqa: E402
from aiokafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Schema, String  # noqa: E402

from shared.bus import MAX_MESSAGE_BYTES  # noqa: E402
from shared.bus.security import client_options  # noqa: E402
from shared.settings import ServiceSettings  # noqa: E402
from shared.topics import PARTITIONS  # noqa: E402

TOPIC_ALREADY_EXISTS = 36
TOPIC_CONFIG = {
    # Events are kept forever: read models (the customer 360) are rebuilt from them.
    "retention.ms": "-1",
    # The largest record batch a topic takes, said explicitly (not the broker's default):
    # the producers' max_request_size is the same number (see shared.bus on sizes).
    "max.message.bytes": str(MAX_MESSAGE_BYTES),
}


def bootstrap() -> str:
    default = f"127.0.0.1:{os.environ.get('CRM_KAFKA_PORT', '59092')}"
    return os.environ.get("CRM_KAFKA_BOOTSTRAP", default)


def fail(message: str) -> NoReturn:
    print(f"[topics] ERROR: {message}", file=sys.stderr)
    sys.exit(1)


async def connect(servers: str, deadline: float) -> AIOKafkaAdminClient:
    """Start an admin client, retrying until the broker answers metadata."""
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        options = client_options(ServiceSettings())
        admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=10_000, **options)
        try:
            await admin.start()
            await admin.describe_cluster()
            return admin
        except (KafkaError, OSError) as exc:  # TimeoutError is an OSError
            last_error = exc
            await admin.close()
            await asyncio.sleep(1)
    fail(f"no Kafka broker answered on {servers} in time (last error: {last_error!r})")


async def partition_counts(admin: AIOKafkaAdminClient, wanted: dict[str, int]) -> dict[str, int]:
    """Partition count of each of our topics the broker knows without error."""
    counts = {}
    for topic in await admin.describe_topics(list(wanted)):
        if topic["error_code"] == 0:
            counts[topic["topic"]] = len(topic["partitions"])
    return counts


async def create_missing(
    admin: AIOKafkaAdminClient, wanted: dict[str, int], existing: dict[str, int]
) -> None:
    missing = [name for name in wanted if name not in existing]
    if not missing:
        return
    print(f"[topics] creating {', '.join(missing)}")
    response = await admin.create_topics(
        [
            NewTopic(name, wanted[name], replication_factor=1, topic_configs=TOPIC_CONFIG)
            for name in missing
        ]
    )
    for result in response.to_object()["topic_errors"]:
        code = result["error_code"]
        if code not in (0, TOPIC_ALREADY_EXISTS):  # a concurrent run may have won
            fail(
                f"creating {result['topic']} failed: {for_code(code).__name__} "
                f"{result.get('error_message') or ''}".rstrip()
            )


async def align_config(admin: AIOKafkaAdminClient, wanted: dict[str, int]) -> None:
    """Topics made before a key of TOPIC_CONFIG was set get it now; altering is idempotent,
    and incremental: other settings of the topics are left as they are."""
    resources = [
        (ConfigResourceType.TOPIC, name, [(k, _SET, v) for k, v in TOPIC_CONFIG.items()])
        for name in wanted
    ]
    response = await admin._send_request(IncrementalAlterConfigs(resources))
    for code, message, _type, name in response.responses:
        if code != 0:
            fail(f"setting {', '.join(TOPIC_CONFIG)} on {name} failed: "
                 f"{for_code(code).__name__} {message or ''}".rstrip())  # fmt: skip


# IncrementalAlterConfigs (KIP-339), which aiokafka's admin client does not offer: its
# alter_configs replaces every dynamic setting of a topic with the ones given.
_SET = 0


class IncrementalAlterConfigsResponse_v0(Response):
    API_KEY = 44
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "responses",
            Array(
                ("error_code", Int16),
                ("error_message", String("utf-8")),
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
            ),
        ),
    )


class IncrementalAlterConfigsRequest_v0(RequestStruct):
    API_KEY = 44
    API_VERSION = 0
    RESPONSE_TYPE = IncrementalAlterConfigsResponse_v0
    SCHEMA = Schema(
        (
            "resources",
            Array(
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
                (
                    "configs",
                    Array(
                        ("name", String("utf-8")),
                        ("config_operation", Int8),
                        ("value", String("utf-8")),
                    ),
                ),
            ),
        ),
        ("validate_only", Boolean),
    )


class IncrementalAlterConfigs(Request[IncrementalAlterConfigsRequest_v0]):
    API_KEY = 44

    def __init__(self, resources: list[tuple[int, str, list[tuple[str, int, str]]]]) -> None:
        self._resources = resources

    def build(
        self, request_struct_class: type[IncrementalAlterConfigsRequest_v0]
    ) -> IncrementalAlterConfigsRequest_v0:
        return request_struct_class(self._resources, False)


async def verify(admin: AIOKafkaAdminClient, wanted: dict[str, int], deadline: float) -> None:
    """New topics take a moment to show up in metadata: poll until they do."""
    while True:
        counts = await partition_counts(admin, wanted)
        wrong = [
            f"{name} has {counts[name]} partitions, wants {want}"
            for name, want in wanted.items()
            if counts.get(name, want) != want
        ]
        if wrong:  # Kafka cannot shrink a topic, and we do not grow one silently
            fail("; ".join(wrong) + " (delete the topic or wipe the Kafka data dir)")
        absent = [name for name in wanted if name not in counts]
        if not absent:
            return
        if time.monotonic() >= deadline:
            fail(f"topics still missing from metadata: {', '.join(absent)}")
        await asyncio.sleep(0.5)


async def warm_group_coordinator(admin: AIOKafkaAdminClient, deadline: float) -> None:
    """Have the broker create __consumer_offsets now, so that the first consumer
    group of a test does not wait for it (and log GroupCoordinatorNotAvailable)."""
    while True:
        try:
            await admin.find_coordinator("crm-local-warmup")
            return
        except KafkaError as exc:
            if time.monotonic() >= deadline:
                fail(f"the group coordinator is not available: {exc!r}")
            await asyncio.sleep(0.5)


async def main(wait_s: float, prefix: str) -> None:
    # aiokafka logs every refused connection while we wait; we report ourselves.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    servers = bootstrap()
    deadline = time.monotonic() + wait_s
    wanted = {prefix + name: count for name, count in PARTITIONS.items()}
    admin = await connect(servers, deadline)
    try:
        await create_missing(admin, wanted, await partition_counts(admin, wanted))
        await verify(admin, wanted, max(deadline, time.monotonic() + 10))
        await align_config(admin, wanted)
        await warm_group_coordinator(admin, max(deadline, time.monotonic() + 10))
    finally:
        await admin.close()
    summary = ", ".join(f"{name}={count}" for name, count in wanted.items())
    print(f"[topics] ok on {servers}: {summary}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the broker (default 60)"
    )
    parser.add_argument(
        "--prefix", default="", help="namespace the topics (CRM_TOPIC_PREFIX), e.g. for tests"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.timeout, arguments.prefix))
