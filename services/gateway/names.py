"""Names on a page of lifecycle's customers: one batched read of profile per page.

A name is personal data profile owns; copying it onto the topics and into lifecycle's
tables would spread it (and its erasure) over two services for one column of one list.
So the gateway asks profile once per page (``POST /v1/profile/names``, up to the page's
500 ids) and fills each item's ``name``. Should profile not answer, the page goes out
without names rather than not at all: the ranking is lifecycle's, and is what the
retention team works from.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import Response

from services.gateway.upstream import Upstreams
from shared.problems import Problem

log = structlog.get_logger()


async def with_names(upstreams: Upstreams, tenant_id: str, page: Response) -> Response:
    """``page`` (lifecycle's answer) with each item's ``name`` from profile."""
    if page.status_code != 200 or not (page.media_type or "").startswith("application/json"):
        return page
    answer: dict[str, Any] = json.loads(bytes(page.body))
    items = answer.get("items") or []
    if not items:
        return page
    names = await _names(upstreams, tenant_id, [item["customer_id"] for item in items])
    for item in items:
        item["name"] = names.get(item["customer_id"])
    headers = {k: v for k, v in page.headers.items() if k.lower() == "etag"}
    return Response(json.dumps(answer), 200, headers=headers, media_type="application/json")


async def _names(upstreams: Upstreams, tenant_id: str, ids: list[str]) -> dict[str, str | None]:
    try:
        found = await upstreams.post(
            "profile", "/v1/profile/names", tenant_id, {"customer_ids": ids}
        )
    except Problem:
        log.warning("customer names unavailable", upstream="profile")
        return {}
    if found.status_code != 200:
        log.warning("customer names unavailable", upstream="profile", status=found.status_code)
        return {}
    names: dict[str, str | None] = found.json()["names"]
    return names
