"""What a rule change would have done: two outcomes of the same history, one folded
under the rules in force and one under the candidate, compared.

Both sides are folded the same way from the same events (``services.replaying``), so
what differs between them is the rules' doing, not time or delivery order. Plain
Python: the service says what its outcome is (customers per stage, points and tiers,
invitations and escalations), this module compares two of them and says why a
customer's outcome moved, naming the rules that changed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

SAMPLE = 20  # customers whose outcome changed, shown with why
_RULES_NAMED = 3  # changed rules named in one customer's why
_VALUE_CHARACTERS = 40
Value = str | int | None


@dataclass
class Outcome:
    """One side: totals by measure (``{"customers_per_stage": {"active": 3}}``) and each
    customer's outcome (``{("t", "id"): {"stage": "active"}}``)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    customers: dict[tuple[str, str], dict[str, Value]] = field(default_factory=dict)


def rule_changes(current: str, candidate: str) -> list[str]:
    """Each rule whose value differs, as ``"silence.silent_after_days 90→30"`` (dotted
    TOML keys; a table array compared whole); texts that do not parse name nothing."""
    try:
        before, after = _flat(tomllib.loads(current)), _flat(tomllib.loads(candidate))
    except tomllib.TOMLDecodeError:
        return []
    return [
        f"{key} {_shown(before.get(key))}→{_shown(after.get(key))}"
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def compare(before: Outcome, after: Outcome, changed_rules: list[str]) -> dict[str, Any]:
    """The difference as the replay reports it (the ``RulesDiff`` contract's shape)."""
    counts = {
        measure: {
            key: {"before": before.counts.get(measure, {}).get(key, 0),
                  "after": after.counts.get(measure, {}).get(key, 0)}
            for key in sorted(before.counts.get(measure, {}).keys()
                              | after.counts.get(measure, {}).keys())
        }
        for measure in sorted(before.counts.keys() | after.counts.keys())
    }  # fmt: skip
    moved = [
        who for who in sorted(before.customers.keys() | after.customers.keys())
        if before.customers.get(who, {}) != after.customers.get(who, {})
    ]  # fmt: skip
    sample = [
        _changed(who, before.customers.get(who, {}), after.customers.get(who, {}), changed_rules)
        for who in moved[:SAMPLE]
    ]
    return {
        "rules_changed": changed_rules,
        "counts": counts,
        "customers": len(before.customers.keys() | after.customers.keys()),
        "customers_changed": len(moved),
        "sample": sample,
    }


def _changed(
    who: tuple[str, str], was: dict[str, Value], now: dict[str, Value], rules: list[str]
) -> dict[str, Any]:
    changes = {
        name: {"before": was.get(name), "after": now.get(name)}
        for name in sorted(was.keys() | now.keys())
        if was.get(name) != now.get(name)
    }
    moves = ", ".join(
        f"{name} {_shown(change['before'])}→{_shown(change['after'])}"
        for name, change in changes.items()
    )
    named = "; ".join(rules[:_RULES_NAMED])
    if len(rules) > _RULES_NAMED:
        named += f"; and {len(rules) - _RULES_NAMED} more"
    why = f"{moves}: {named}" if named else f"{moves}: the rules are the same (an input differs)"
    return {"tenant": who[0], "customer_id": who[1], "changes": changes, "why": why}


def _flat(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _shown(value: Any) -> str:
    shown = "(none)" if value is None else str(value)
    return shown if len(shown) <= _VALUE_CHARACTERS else shown[: _VALUE_CHARACTERS - 1] + "…"
