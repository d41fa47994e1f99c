"""Money and prices: Decimal amounts with an ISO currency, never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from bridge.model.base import Record
from bridge.model.types import CurrencyCode, Dec

ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


class Money(Record):
    """An amount in one currency. Arithmetic across currencies is an error."""

    amount: Dec
    currency: CurrencyCode

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def times(self, factor: Decimal) -> Money:
        return Money(amount=self.amount * factor, currency=self.currency)

    def rounded(self, places: int = 2, mode: str = "half_up") -> Money:
        quantum = Decimal(1).scaleb(-places)
        return Money(
            amount=self.amount.quantize(quantum, rounding=ROUNDING_MODES[mode]),
            currency=self.currency,
        )

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class Price(Money):
    """A selling price: money plus whether tax is included, which no channel may guess."""

    tax_included: bool
