"""The one way every service sweeps due-time work: batch after batch until a batch says
nothing more is due, the counts summed."""

from __future__ import annotations

from shared.sweeps import Swept, drain


async def test_drain_sweeps_batch_after_batch_until_one_is_not_full():
    batches = iter(
        [
            Swept({"moved": 500}, more=True),
            Swept({"moved": 500, "dropped": 2}, more=True),
            Swept({"moved": 7}),
            Swept({"moved": 1000}),  # never asked for
        ]
    )

    async def one_batch() -> Swept:
        return next(batches)

    swept = await drain(one_batch)

    assert swept.counts == {"moved": 1007, "dropped": 2}
    assert not swept.more and swept.anything
    assert next(batches).counts == {"moved": 1000}


async def test_a_sweep_with_nothing_due_did_nothing():
    async def nothing() -> Swept:
        return Swept({"invited": 0, "expired": 0})

    swept = await drain(nothing)

    assert swept.counts == {"invited": 0, "expired": 0} and not swept.anything
