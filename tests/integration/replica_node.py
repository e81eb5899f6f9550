"""One replica of each consumer service (profile, lifecycle, loyalty, feedback) in one
process, as a node of the scale-out test would run them: real PostgreSQL (the services'
shared databases) and Kafka (the test's topics and consumer groups).

    python -m tests.integration.replica_node PREFIX RUN NAME [--services profile,loyalty]

It prints a JSON line every 0.2 s, ``{"node": NAME, "applied": {group: events}}`` (what
this replica's consumers applied so far), and stops gracefully on SIGTERM (consumers and
jobs at a batch boundary, offsets committed), printing ``{"node": NAME, "stopped": true}``.
Sweeps run every half second, so due work is shared by the replicas while they run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal

from shared.consumer import Consumer
from shared.logging import configure_logging
from shared.settings import ServiceSettings
from tests.integration.services import Infra, RunningService, run_service

SERVICES = ("profile", "lifecycle", "loyalty", "feedback")
SWEEP_EVERY = {
    "lifecycle": {"lifecycle_sweep_seconds": 0.5},
    "loyalty": {"loyalty_sweep_seconds": 0.5},
    "feedback": {"feedback_sweep_seconds": 0.5},
}


def applied(services: list[RunningService]) -> dict[str, int]:
    return {
        job.name: job.applied
        for service in services
        for job in service.runtime.jobs
        if isinstance(job, Consumer)
    }


async def main(arguments: argparse.Namespace) -> None:
    infra = Infra(ServiceSettings(), arguments.prefix, arguments.run)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    configure_logging("WARNING", "json")  # stdout is for the lines above
    async with contextlib.AsyncExitStack() as stack:
        services = [
            await stack.enter_async_context(
                run_service(infra, name, log_level="WARNING", **SWEEP_EVERY.get(name, {}))
            )
            for name in arguments.services.split(",")
        ]
        while not stopping.is_set():
            print(json.dumps({"node": arguments.name, "applied": applied(services)}), flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), 0.2)
    print(json.dumps({"node": arguments.name, "stopped": True}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("prefix", "run", "name"):
        parser.add_argument(name)
    parser.add_argument("--services", default=",".join(SERVICES))
    asyncio.run(main(parser.parse_args()))
