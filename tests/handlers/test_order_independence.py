"""Order independence, by property: any permutation of one customer's events, each
delivered as its own batch (the worst case: no batch sorts anything), ends in the
state that delivery in event-time order gives. Lifecycle is checked on its domain
(the calls its consumer makes per event), loyalty through its consumer and database
on the fast tier (the parking of refunds that come first is in its handler)."""

from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.lifecycle.domain import folding
from services.lifecycle.domain.config import load_config
from services.lifecycle.domain.stages import CustomerState, StageMachine
from services.lifecycle.settings import DEFAULT_CONFIG
from services.loyalty import settings as loyalty_settings
from services.loyalty.tables import account, ledger_entry, lot
from shared.events.activity import OrderRefunded, PurchaseCompleted
from tests.handlers.bench import NOW, event, running_bench

MACHINE = StageMachine(load_config(DEFAULT_CONFIG))
START = NOW - timedelta(days=500)
CUSTOMER = uuid.UUID(int=7)


@dataclass(frozen=True)
class Step:
    """One thing the customer did: ``kind`` with its order and amount, at ``minute``."""

    kind: str  # registered, engaged, bought, refunded
    minute: int
    order: str = ""
    amount: int = 0

    @property
    def at(self) -> Any:
        return START + timedelta(minutes=self.minute)


@st.composite
def histories(draw: st.DrawFn, *, funnel: bool = True) -> list[Step]:
    """A customer's history: maybe a registration and an engagement, orders over
    about a year and a half (free ones too), some refunded in full or in two halves,
    each refund after its order; every step at its own minute (event-time order is
    then one order)."""
    minutes = iter(draw(st.lists(st.integers(0, 700_000), min_size=24, max_size=24, unique=True)))
    steps = []
    if funnel:
        steps += [Step(k, next(minutes)) for k in ("registered", "engaged") if draw(st.booleans())]
    for n in range(draw(st.integers(1, 6))):
        bought = Step(
            "bought", next(minutes), f"O-{n}", draw(st.sampled_from([0, 1500, 90000, 300000]))
        )
        steps.append(bought)
        refunds = draw(st.sampled_from([[], [bought.amount or 1], [bought.amount // 2] * 2]))
        for amount in refunds if bought.amount or len(refunds) < 2 else []:
            later = bought.minute + draw(st.integers(1, 90 * 24 * 60))
            steps.append(Step("refunded", later, bought.order, amount))
    assume(len({s.minute for s in steps}) == len(steps))
    return steps


def lifecycle_after(steps: list[Step]) -> tuple[object, ...]:
    """The customer's stage and orders after folding ``steps`` one at a time."""
    state, orders = CustomerState(), {}
    for step in steps:
        match step.kind:
            case "registered" | "engaged":
                state, _ = MACHINE.move(state, step.kind, step.at)  # type: ignore[arg-type]
            case "bought":
                f = folding.purchased(MACHINE, state, orders, step.order, step.amount, step.at)
                state, orders = f.state, dict(f.purchases)
            case "refunded":
                f = folding.refunded(MACHINE, state, orders, step.order, step.amount, step.at)
                state, orders = f.state, dict(f.purchases)
    kept = {o: (p.state, p.amount_minor, p.refunded_minor, p.at) for o, p in orders.items()}
    return state.stage, state.reactivations, kept


@settings(max_examples=300, deadline=None)
@given(history=histories(), data=st.data())
def test_lifecycle_any_arrival_order_gives_the_stage_of_event_time_order(history, data):
    shuffled = data.draw(st.permutations(history))
    in_order = sorted(history, key=lambda s: s.minute)

    assert lifecycle_after(shuffled) == lifecycle_after(in_order)


def _activity(customer: uuid.UUID, step: Step) -> Any:
    if step.kind == "bought":
        data: Any = PurchaseCompleted(
            order_id=step.order, amount_minor=step.amount, currency="CNY", channel="store"
        )
    else:
        data = OrderRefunded(order_id=step.order, amount_minor=step.amount, currency="CNY")
    return event(data, customer, step.at)


def flat_tiers(folder: Path) -> Path:
    """The shipped programme with every tier earning at one rate. The points an order
    earns at a tier multiplier are decided when it arrives and kept (the ledger is
    append-only): an order that arrives late and lifts the tier at its time does not
    re-earn the orders after it. Tiers, spend, refunds and every other rule stay."""
    shipped = (Path(loyalty_settings.__file__).parent / "rules.toml").read_text()
    flat = re.sub(r"^(silver|gold|platinum) = [0-9.]+$", r"\1 = 1", shipped, flags=re.M)
    assert flat != shipped
    path = folder / "flat-tiers.toml"
    path.write_text(flat)
    return path


async def loyalty_after(template: Path, folder: Path, events: list[Any]) -> tuple[object, ...]:
    """The customer's account, ledger and lots after consuming ``events`` one a batch."""
    rules = flat_tiers(folder)
    async with running_bench(
        "loyalty", template, folder, now=NOW, loyalty_rules_file=rules
    ) as loyalty:
        for one in events:
            await loyalty.consume("loyalty-activity", one)
        [acc] = await loyalty.rows(account, customer_id=CUSTOMER)
        entries = await loyalty.rows(ledger_entry, customer_id=CUSTOMER)
        lots = await loyalty.rows(lot, customer_id=CUSTOMER)
    return (
        (acc["tier"], acc["qualifying_spend_minor"], acc["tier_review_at"]),
        # Two partial refunds of one order reverse its points cumulatively, rounded down:
        # which of them carries the odd point depends on which comes first, not the sum.
        sorted((e["kind"], e["points"], e["ref"].split("/")[0]) for e in entries),
        sorted((x["ref"], x["points"], x["remaining"], x["refunded_minor"]) for x in lots),
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories(funnel=False), data=st.data())
async def test_loyalty_any_arrival_order_gives_the_ledger_of_event_time_order(
    templates, tmp_path, history, data
):
    in_order = sorted(history, key=lambda s: s.minute)
    events = [_activity(CUSTOMER, step) for step in in_order]  # the same ids either way
    shuffled = data.draw(st.permutations(events))
    template = templates["loyalty"]

    with contextlib.suppress(FileExistsError):
        tmp_path.mkdir()
    assert await loyalty_after(template, tmp_path, shuffled) == await loyalty_after(
        template, tmp_path, events
    )
