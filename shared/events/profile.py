"""Events profile publishes on ``crm.profile``."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.events.payload import Payload


class CustomerCreated(Payload):
    """Profile met a customer it did not know and gave them a canonical id."""

    customer_id: str
    source: str
    external_id: str
    created_at: AwareDatetime
