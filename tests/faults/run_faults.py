"""The fault suite as a test (``make test-faults``; CI runs it after ``make test``).

Not collected by ``make test``: it takes minutes and crashes the topology on purpose.
"""

from __future__ import annotations

import asyncio

from tests.faults.suite import run


async def test_crashes_of_every_part_leave_every_customer_as_a_calm_run_does() -> None:
    # Sized for CI (about ten minutes; most of it the restarts): every part crashed once.
    async with asyncio.timeout(40 * 60):  # a hang fails here, well inside CI's 90 minutes
        outcome = await run(customers=150, seed=11, faults=7)
    print(outcome.report())
    assert outcome.faulted.partner is not None and outcome.faulted.partner.retries > 0
    assert len(outcome.faulted.faults) >= 2 * 7  # every part crashed and restarted
    assert outcome.differing == {}, outcome.report()
