"""Feedback applies profile's merges on the fast tier: a merge gives the survivor one
history of complaints and survey answers, an event for the merged-away customer lands on
the survivor, and the undo gives each customer back its own, with what came through
its id meanwhile (a complaint, an answer and its recovery case, an invitation); a
replayed merge or undo changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from services.feedback.tables import complaint, parked, survey_invitation, survey_response
from tests.handlers.bench import NOW, TENANT, Bench
from tests.handlers.test_feedback import answer, bought, filed, resolving
from tests.handlers.test_loyalty import HOUR
from tests.handlers.test_loyalty_merges import merged, unmerged

ACTIVITY, PROFILE = "feedback-activity", "feedback-profile"


async def history(bench: Bench, customer: uuid.UUID) -> dict[str, Any]:
    """A customer's complaints, invitations and answers, as an undo must give them back."""
    found = {}
    for table, key in ((complaint, "complaint_id"), (survey_invitation, "invitation_id"),
                       (survey_response, "response_id")):  # fmt: skip
        rows = await bench.rows(table, tenant_id=TENANT, customer_id=customer)
        found[table.name] = sorted((r[key], r["origin_id"]) for r in rows)
    return found


async def test_a_merge_gives_one_history_and_its_undo_gives_each_its_own(bench_of):
    feedback, li, other, merge_id = (
        await bench_of("feedback"),
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
    )
    await feedback.consume(ACTIVITY, filed(li, "T-1", "low", NOW - 3 * HOUR, "pos"))
    await feedback.consume(ACTIVITY, filed(other, "T-2", "high", NOW - 2 * HOUR, "pos"))
    await feedback.consume(ACTIVITY, answer(other, "nps", 3, NOW - 2 * HOUR))
    before_li, before_other = await history(feedback, li), await history(feedback, other)
    assert before_other["complaint"] and before_other["survey_response"]

    await feedback.consume(PROFILE, merged(merge_id, li, other))
    await feedback.consume(PROFILE, merged(merge_id, li, other))  # a replay
    one = await history(feedback, li)
    for kind, rows in one.items():
        assert sorted(r for r, _ in rows) == sorted(
            r for r, _ in [*before_li[kind], *before_other[kind]]
        )
    assert await history(feedback, other) == {k: [] for k in one}
    await feedback.consume(ACTIVITY, filed(other, "T-3", "low", NOW, "pos"))  # late, merged id
    await feedback.consume(ACTIVITY, answer(other, "nps", 2, NOW))  # a detractor, merged id
    await feedback.consume(ACTIVITY, bought(other, "O-9", NOW))  # invited, merged id
    await feedback.consume(ACTIVITY, filed(li, "T-4", "low", NOW + HOUR, "pos"))  # meanwhile
    assert len((await history(feedback, li))["complaint"]) == len(one["complaint"]) + 3
    assert (await history(feedback, other))["complaint"] == []

    await feedback.consume(PROFILE, unmerged(merge_id, li, other))
    await feedback.consume(PROFILE, unmerged(merge_id, li, other))  # a replay

    theirs = await history(feedback, other)  # what came through their id is theirs again
    assert await _refs(feedback, other) == ["T-2", "T-3"]
    assert len(theirs["complaint"]) == 4  # and the recovery case of their detractor's answer
    assert len(theirs["survey_response"]) == len(before_other["survey_response"]) + 1
    assert len(theirs["survey_invitation"]) > len(before_other["survey_invitation"])
    assert all(origin is None for rows in theirs.values() for _, origin in rows)
    after = await history(feedback, li)
    assert await _refs(feedback, li) == ["T-1", "T-4"]  # T-4 it filed meanwhile
    assert after["survey_response"] == before_li["survey_response"]
    assert after["survey_invitation"] == before_li["survey_invitation"]


async def _refs(bench: Bench, customer: uuid.UUID) -> list[str]:
    """The partner refs of the customer's filed complaints."""
    rows = await bench.rows(complaint, tenant_id=TENANT, customer_id=customer)
    return sorted(r["complaint_ref"] for r in rows if r["response_id"] is None)


async def test_a_resolution_that_waited_for_its_complaint_through_the_merged_id_closes_it(
    bench_of,
):
    feedback, li, other, merge_id = (
        await bench_of("feedback"), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    )  # fmt: skip
    await feedback.consume(PROFILE, merged(merge_id, li, other))
    await feedback.consume(ACTIVITY, resolving(other, "T-7", NOW, "pos"))  # before its complaint
    await feedback.consume(ACTIVITY, filed(other, "T-7", "low", NOW - HOUR, "pos"))
    assert await feedback.rows(parked) == []
    [found] = await feedback.rows(complaint, complaint_ref="T-7")
    assert (found["customer_id"], found["status"]) == (li, "resolved")

    await feedback.consume(PROFILE, unmerged(merge_id, li, other))
    [found] = await feedback.rows(complaint, complaint_ref="T-7")
    assert (found["customer_id"], found["status"]) == (other, "resolved")
