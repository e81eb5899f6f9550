"""The dashboard in a real browser: Debian's Chromium (deploy/local/chromium.sh), driven
by Playwright, on the running topology with a seeded tenant of its own. The page must show
what the API answers, rank the at-risk list by value at risk, open a customer's page,
show a breached complaint and refuse a bad key; its key stays in the tab.

Screenshots of every page land in ``.data/test-artifacts/dashboard/``.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.conftest import ROOT
from tests.e2e.dashboard_seed import LAPSED, RECENT, seed

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / ".data" / "test-artifacts" / "dashboard"


@dataclass(frozen=True)
class Tenant:
    run: str
    key: str
    api: httpx.AsyncClient
    origin: str


async def _settled(api: httpx.AsyncClient, run: str) -> None:
    """Until lifecycle scored and valued the lapsed regulars (most of them high risk: a
    detractor's signal may reach it before the customer does), its sweep sent them silent
    (their silences fire once the tenant's event-time watermark has passed them, a sweep
    or more after their events), and feedback holds the old complaint past its due time,
    the same on two reads a second apart."""
    started, seen, last = time.monotonic(), None, None
    while time.monotonic() - started < 90:
        risky = (await api.get("/v1/lifecycle/customers", params=_AT_RISK)).json()["items"]
        queue = (await api.get("/v1/feedback/complaints", params={"breached": "true"})).json()
        stages = (await api.get("/v1/lifecycle/funnel")).json()["stages"]
        refs = {c["complaint_ref"] for c in queue["complaints"]}
        seen = ([c["value_at_risk_minor"] for c in risky], f"{run}-T1" in refs, stages)
        valued = len(risky) >= 3 and all(c["value_at_risk_minor"] for c in risky)
        gone = stages.get("silent", 0) + stages.get("churned", 0) >= LAPSED
        if valued and gone and seen[1] and seen == last:
            return
        last = seen
        await asyncio.sleep(1)
    raise AssertionError(f"the seeded tenant did not settle; last seen: {seen}")


_AT_RISK = {"risk_level": "high", "order": "value_at_risk", "limit": 20}


@pytest.fixture(scope="module")
async def tenant(gateway: httpx.AsyncClient) -> AsyncIterator[Tenant]:
    run = uuid.uuid4().hex[:8]
    key = await seed(gateway, run, datetime.now(UTC))
    origin = str(gateway.base_url).rstrip("/")
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=origin, headers=headers, timeout=10) as api:
        await _settled(api, run)
        yield Tenant(run, key, api, origin)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    yield await context.new_page()
    await context.close()


@dataclass(frozen=True)
class Overview:
    page: Page
    policy: str
    requested: list[str]


@pytest.fixture(scope="module")
async def overview(browser: Browser, tenant: Tenant) -> AsyncIterator[Overview]:
    """One sign-in to the overview, read by several tests (it is some twenty API calls),
    with the page's content security policy and every URL the page requested."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    answer = await page.goto(f"{tenant.origin}/dashboard")
    assert answer is not None
    policy = (await answer.all_headers())["content-security-policy"]
    await _sign_in(page, tenant)
    await page.wait_for_selector("#overview[data-loaded=true]", timeout=60_000)
    await _shot(page, "overview")
    yield Overview(page, policy, requested)
    await context.close()


async def _sign_in(page: Page, tenant: Tenant, key: str | None = None) -> None:
    if not page.url.startswith(tenant.origin):
        await page.goto(f"{tenant.origin}/dashboard")
    await page.fill("#api-key", key or tenant.key)
    await page.click("#sign-in-form button[type=submit]")


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def _cells(page: Page, selector: str, attribute: str) -> dict[str, str]:
    """The text of each cell matching ``selector``, by its ``attribute``."""
    script = (
        "(cells, name) => Object.fromEntries(cells.map(c => [c.getAttribute(name), c.textContent]))"
    )
    found: dict[str, str] = await page.eval_on_selector_all(selector, script, attribute)
    return found


async def test_the_funnel_on_the_page_equals_the_apis(overview: Overview, tenant: Tenant) -> None:
    shown = await _cells(overview.page, "#funnel td[data-stage]", "data-stage")
    stages = (await tenant.api.get("/v1/lifecycle/funnel")).json()["stages"]
    conversion = (await tenant.api.get("/v1/lifecycle/funnel/conversion")).json()
    rates = await _cells(overview.page, "#conversion td[data-rate]", "data-rate")

    # The tenant is the test's own and settled: nothing moved it since the page read it.
    assert {stage: int(n) for stage, n in shown.items()} == stages
    assert sum(stages.values()) == LAPSED + RECENT  # every seeded customer is in the funnel
    expected = {f"{c['from']}-{c['to']}": _pct(c["rate"]) for c in conversion["conversions"]}
    assert rates == expected


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


async def test_the_at_risk_list_is_ranked_by_value_at_risk(
    overview: Overview, tenant: Tenant
) -> None:
    rows: list[dict[str, Any]] = await overview.page.eval_on_selector_all(
        "#at-risk tbody tr[data-customer-id]",
        "rows => rows.map(r => ({id: r.dataset.customerId, value: Number(r.dataset.valueAtRisk)}))",
    )
    api = (await tenant.api.get("/v1/lifecycle/customers", params=_AT_RISK)).json()["items"]

    values = [r["value"] for r in rows]
    assert 3 <= len(rows) <= LAPSED
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    assert [r["id"] for r in rows] == [c["customer_id"] for c in api]


async def test_clicking_an_at_risk_customer_opens_their_page(page: Page, tenant: Tenant) -> None:
    await _sign_in(page, tenant)
    await page.wait_for_selector("#at-risk tbody tr[data-customer-id]", timeout=60_000)
    first = page.locator("#at-risk tbody tr[data-customer-id] a").first
    customer_id = await first.get_attribute("data-customer-id")
    await first.click()
    await page.wait_for_selector("#customer[data-loaded=true]", timeout=30_000)
    await _shot(page, "customer")
    the360 = (await tenant.api.get(f"/v1/customers/{customer_id}")).json()

    assert page.url.endswith(f"#/customers/{customer_id}")
    assert await page.text_content("#customer-name") == the360["name"]
    assert the360["name"].startswith("Customer L")  # a lapsed regular of the seed
    assert await page.locator("#ledger tbody tr").count() == the360["stats"]["orders"] == 8
    assert await page.locator("#history tbody tr").count() >= 3
    assert await page.locator("#surveys tbody tr").count() == 1
    assert await page.locator("#customer .error").count() == 0


async def test_the_complaint_queue_shows_a_breached_complaint(
    overview: Overview, tenant: Tenant
) -> None:
    queue = overview.page.locator("#complaints tbody tr.breached", has_text=f"{tenant.run}-T1")

    assert await queue.count() == 1
    assert await queue.locator(".badge.bad").text_content() == "breached"
    assert "open past their due time" in (await overview.page.text_content("#breaches") or "")


async def test_a_bad_key_shows_the_error_and_keeps_nothing(page: Page, tenant: Tenant) -> None:
    await _sign_in(page, tenant, key="crm_not-a-key-at-all")
    error = page.locator("#sign-in-error")
    await error.wait_for(state="visible")
    await _shot(page, "sign-in-refused")

    assert (await error.text_content() or "").startswith("That key was refused")
    assert await page.is_hidden("#overview")
    assert await page.evaluate("sessionStorage.length") == 0


async def test_the_key_stays_in_the_tab_and_the_page_talks_to_its_gateway_only(
    overview: Overview, tenant: Tenant
) -> None:
    page = overview.page

    assert "script-src 'self'" in overview.policy and "connect-src 'self'" in overview.policy
    assert await page.evaluate("sessionStorage.getItem('crm.dashboard.key')") == tenant.key
    assert await page.evaluate("localStorage.length") == 0
    assert await page.context.cookies() == []
    assert len(overview.requested) > 20
    assert all(url.startswith(f"{tenant.origin}/") for url in overview.requested)
    assert await page.locator("#overview .error").count() == 0  # every panel drew
