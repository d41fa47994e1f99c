"""Square ``Money`` objects to canonical ``Money``: integer minor units, never a float.

Square sends ``{"amount": 1999, "currency": "USD"}``: the amount is an integer "in the
smallest denomination of the currency" (cents for USD, yen for JPY). The decimal point is
put back with ``Decimal.scaleb(-exponent)``, exact whatever the size of the amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bridge.errors import DataError
from bridge.model import Money

ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
        "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
"""ISO 4217 currencies without minor unit (exponent 0)."""
THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
FOUR_DECIMAL = frozenset({"CLF", "UYW"})


def exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (ISO 4217); 2 unless listed."""
    code = currency.strip().upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    if code in FOUR_DECIMAL:
        return 4
    return 2


def minor_to_decimal(amount: Any, currency: str, what: str = "amount") -> Decimal:
    """``1999`` USD -> ``Decimal("19.99")``; ``500`` JPY -> ``Decimal("500")``."""
    if isinstance(amount, bool) or amount is None:
        raise DataError(f"{what}: {amount!r} is not an amount in minor units")
    if isinstance(amount, str) and amount.strip().lstrip("-").isdigit():
        amount = int(amount.strip())
    if not isinstance(amount, int):
        # A float here would mean Square changed its format: refuse rather than guess.
        raise DataError(f"{what}: {amount!r} is not an integer amount in minor units")
    return Decimal(amount).scaleb(-exponent(currency))


def to_money(value: Any, what: str, *, negate: bool = False) -> Money | None:
    """A Square ``Money`` object as canonical ``Money``; None when absent."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise DataError(f"{what}: {value!r} is not a Money object")
    currency = value.get("currency")
    if not isinstance(currency, str) or not currency.strip():
        raise DataError(f"{what}: money without currency")
    amount = minor_to_decimal(value.get("amount"), currency, what)
    if negate and amount:
        amount = amount.copy_negate()  # never -0.00
    return Money(amount=amount, currency=currency)
