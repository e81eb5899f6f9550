"""OpenAPI links between the gateway's operations: where a response's ids lead.

A client (and a stateful test generator) follows them from an answer to the
operations that take its ids: an event to its customer's lookup, a lookup or a
customer list to that customer's reads, a complaint list to a resolution, a merge
candidate list to a decision, a created or listed key to its rotation and
revocation. Targets are named by path and method (``operationRef``), so renaming
a route function never breaks a link.
"""

from __future__ import annotations

from typing import Any

CUSTOMER = "/v1/customers/{customer_id}"
_CUSTOMER_READS = {
    "GetCustomer": (CUSTOMER, "get"),
    "GetLifecycle": (f"{CUSTOMER}/lifecycle", "get"),
    "GetChurnRisk": (f"{CUSTOMER}/churn-risk", "get"),
    "GetLoyalty": (f"{CUSTOMER}/loyalty", "get"),
    "GetLedger": (f"{CUSTOMER}/loyalty/ledger", "get"),
    "GetComplaints": (f"{CUSTOMER}/complaints", "get"),
    "RedeemPoints": (f"{CUSTOMER}/loyalty/redemptions", "post"),
}


def link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """A link to the operation at ``path`` and ``method``, its parameters taken from
    runtime expressions (``$response.body#/customer_id``, ``$request.path.id``)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


def links(status: int, **named: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` giving the ``status`` response of an operation its links."""
    return {"responses": {str(status): {"links": named}}}


def customer_reads(customer_id: str) -> dict[str, dict[str, Any]]:
    """Links to every operation on one customer, whose id is the expression ``customer_id``."""
    return {
        name: link(path, method, customer_id=customer_id)
        for name, (path, method) in _CUSTOMER_READS.items()
    }
