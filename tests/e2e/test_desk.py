"""The service desk through the gateway: an agent's key (``desk:write``) finds a filed
complaint in the queue, takes it up, notes it, resolves it with goodwill (the desk's cap
refuses more, an illegal step is a 409 naming the states); the 360 counts it closed,
the churn risk loses its reason and the points arrive; a reopening counts it open
again. And a forged answer token is refused at the public answers route."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import customer_360, eventually, purchase
from tests.e2e.test_complaint_flow import _complaint, _key, _reasons


async def test_an_agent_works_the_queue_and_the_360_and_risk_follow(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    customer, ref = f"Q-{run_id}", f"TQ-{run_id}"
    await gateway.post("/v1/events", json=purchase(f"p-{run_id}", customer, f"O-{run_id}"))
    await eventually(lambda: customer_360(gateway, customer), lambda v: v is not None)
    filing = {"complaint_ref": ref, "severity": "critical", "category": f"desk-{run_id}",
              "channel": "phone", "text": "Charged twice, nobody answers."}  # fmt: skip
    await gateway.post(
        "/v1/events", json=_complaint(f"cf-{run_id}", customer, "complaint.filed", filing)
    )
    opened, _ = await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v["feedback"]["open_complaints"] == 1 and "open_complaint" in _reasons(v),
        within=10,
    )
    agent = await _key(gateway, "agent", ["customers:read", "desk:write"])
    queue = await gateway.get(
        "/v1/feedback/complaints",
        params={"category": f"desk-{run_id}", "status": "open", "severity": "critical"},
        headers=agent,
    )
    assert queue.status_code == 200, queue.text
    [listed] = queue.json()["complaints"]
    one = f"/v1/customers/{opened['customer_id']}/complaints/{listed['complaint_id']}"

    taken = await gateway.patch(
        one, json={"status": "in_progress", "assignee": "li.na"}, headers=agent
    )
    noted = await gateway.post(
        f"{one}/notes", json={"text": "Called back, refund due."}, headers=agent
    )
    closing = await gateway.patch(one, json={"status": "closed"}, headers=agent)
    over = await gateway.post(
        f"{one}/resolution",
        json={"resolution": "Refunded.", "compensation_points": 20000},
        headers=agent,
    )
    done = await gateway.post(
        f"{one}/resolution",
        json={"resolution": "Refunded.", "compensation_points": 400},
        headers=agent,
    )
    detail = await gateway.get(one, headers=agent)

    assert (taken.status_code, taken.json()["status"], taken.json()["assignee"]) == (
        200, "in_progress", "li.na",
    )  # fmt: skip
    assert noted.status_code == 201 and noted.json()["author"].startswith("api-key:")
    assert closing.status_code == 409
    assert "in_progress" in closing.json()["detail"] and "closed" in closing.json()["detail"]
    assert over.status_code == 409 and "10000" in over.json()["detail"]
    assert (done.status_code, done.json()["status"]) == (200, "resolved")
    assert detail.json()["text"] == "Charged twice, nobody answers."
    assert [n["text"] for n in detail.json()["notes"]] == ["Called back, refund due."]
    # The goodwill is attributable: the agent's key, written by the gateway.
    assert detail.json()["resolver"] == noted.json()["author"]
    mine = await gateway.get(
        "/v1/feedback/complaints", params={"assignee": "li.na", "status": "resolved"}, headers=agent
    )
    assert listed["complaint_id"] in [c["complaint_id"] for c in mine.json()["complaints"]]
    closed, _ = await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v["feedback"]["open_complaints"] == 0 and "open_complaint" not in _reasons(v),
        within=10,
    )
    assert closed["churn_risk"]["score"] < opened["churn_risk"]["score"]
    # The resolution's 400 points, beside the goodwill loyalty grants on its own for a
    # critical complaint (which may land in the 360 before or after ``opened`` was read).
    ledger = f"/v1/customers/{opened['customer_id']}/loyalty/ledger"
    entries, _ = await eventually(
        lambda: gateway.get(ledger),
        lambda a: any(e["rule"] == "compensation" for e in a.json()["entries"]),
        within=10,
    )
    granted = [e["points"] for e in entries.json()["entries"] if e["rule"] == "compensation"]
    assert granted == [400]

    reopened = await gateway.patch(one, json={"status": "open"}, headers=agent)
    assert (reopened.status_code, reopened.json()["reopened"]) == (200, 1)
    await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v["feedback"]["open_complaints"] == 1,
        within=10,
    )


async def test_a_forged_answer_token_is_refused_without_an_api_key(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    forged = "v1." + "dGVuYW50CjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwCg" + "." + "A" * 43
    answer = await gateway.post(
        "/v1/survey-responses",
        json={"answer_token": forged, "score": 7},
        headers={"Authorization": ""},
    )
    off_scale = await gateway.post(
        "/v1/survey-responses",
        json={"answer_token": forged, "score": 11},
        headers={"Authorization": ""},
    )
    assert answer.status_code == 401 and "token" in answer.json()["detail"]
    assert off_scale.status_code == 422  # off every scale: refused before the token is read
