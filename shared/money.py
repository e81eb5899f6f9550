"""Money is an integer of minor units plus an ISO 4217 currency, never a float."""

from __future__ import annotations

from typing import Annotated, Final

import pycountry
from pydantic import AfterValidator, Field, StrictInt

# ISO 4217 minor-unit exponents that are not 2 (the rest of the table is 2).
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


# ISO 4217 codes that are not money a customer pays with: precious metals, bond-market
# units, SDRs, the testing code and "no currency".
_NOT_MONEY = frozenset(
    ["XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"]
)


# The ISO 4217 codes of currencies customers pay in, looked up once: every payload with
# an amount is checked against them, in every consumer (pycountry's lookup per check
# was a few percent of a consumer's CPU).
_CURRENCIES: Final = frozenset(
    c.alpha_3 for c in pycountry.currencies if c.alpha_3 not in _NOT_MONEY
)


def is_iso_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 code of a currency customers pay in."""
    return code in _CURRENCIES


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (JPY 0, EUR 2, KWD 3)."""
    return _EXPONENTS.get(currency, 2)


def _check_currency(code: str) -> str:
    if not is_iso_currency(code):
        raise ValueError(f"'{code}' is not an ISO 4217 currency code (for example EUR, USD, CNY)")
    return code


# Every code ``is_iso_currency`` takes, so the schema says exactly what is accepted.
CURRENCY_CODES: Final = tuple(sorted(_CURRENCIES))

Currency = Annotated[
    str,
    Field(
        examples=["EUR", "CNY"],
        description="ISO 4217 code",
        json_schema_extra={"enum": list(CURRENCY_CODES)},
    ),
    AfterValidator(_check_currency),
]
# The largest amount of one order or refund: 10^12 minor units (ten billion euros), beyond
# any real order. It keeps every running sum far from BIGINT (about 9.2 × 10^18): over
# nine million such orders per customer before one could overflow, and then the
# database refuses the write (a deterministic error: the event is dead-lettered at once).
MAX_AMOUNT_MINOR: Final = 10**12

AmountMinor = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=MAX_AMOUNT_MINOR,
        examples=[129900],
        description="Amount in minor units (cents), at most 10^12",
    ),
]
