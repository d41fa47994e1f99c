"""Units of measure for the mapping function ``unit``: exact Decimal factors, no floats.

Every unit is a dimension and an exact factor to that dimension's base unit (the pound is
defined as exactly 0.45359237 kg). A conversion is one Decimal operation chosen at bind
time so that converting there and back returns the input:

- when the ratio between the two units is a terminating decimal (g -> kg, lb -> g,
  lb -> oz), the value is multiplied by it, rounded to ``MULTIPLY_DIGITS`` significant
  digits (exact for any input of up to 17 significant digits: the longest ratio,
  oz -> mg, has 11);
- otherwise (g -> lb, kg -> oz) the value is divided by the exact inverse ratio, rounded
  to ``DIVIDE_DIGITS`` significant digits. Those extra digits are what makes the way
  back, a multiplication rounded to fewer digits, land exactly on the original value.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow

MULTIPLY_DIGITS = 28
DIVIDE_DIGITS = 34

_TRAPS = [InvalidOperation, DivisionByZero, Overflow]
_MULTIPLY = Context(prec=MULTIPLY_DIGITS, traps=_TRAPS)
_DIVIDE = Context(prec=DIVIDE_DIGITS, traps=_TRAPS)

_POUND_G = Decimal("453.59237")

UNITS: dict[str, tuple[str, Decimal]] = {
    "mg": ("mass", Decimal("0.001")),
    "g": ("mass", Decimal(1)),
    "kg": ("mass", Decimal(1000)),
    "lb": ("mass", _POUND_G),
    "oz": ("mass", _POUND_G / 16),  # 28.349523125 g, exact
    "ml": ("volume", Decimal(1)),
    "cl": ("volume", Decimal(10)),
    "l": ("volume", Decimal(1000)),
    "mm": ("length", Decimal(1)),
    "cm": ("length", Decimal(10)),
    "m": ("length", Decimal(1000)),
    "each": ("count", Decimal(1)),
    "unit": ("count", Decimal(1)),
    "dozen": ("count", Decimal(12)),
}
"""Unit name (lower case) -> (dimension, exact factor to the dimension's base unit)."""


class UnitError(ValueError):
    """A unit name or pair the ``unit`` function cannot use; ``side`` is 'from' or 'to'."""

    def __init__(self, message: str, side: str) -> None:
        super().__init__(message)
        self.side = side


def unit_name(name: str, side: str) -> str:
    """The canonical (lower-case) name of a unit, or UnitError with a did-you-mean."""
    key = name.strip().lower()
    if key in UNITS:
        return key
    close = difflib.get_close_matches(key, list(UNITS), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(UNITS)
    raise UnitError(f"unknown unit {name!r} ({hint})", side)


def _exact_ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator if it is a terminating decimal, else None."""
    context = Context(prec=60, traps=_TRAPS)
    ratio = context.divide(numerator, denominator)
    return None if context.flags[Inexact] else ratio


def converter(source: str, target: str) -> Callable[[Decimal], Decimal]:
    """A function converting a Decimal from ``source`` to ``target`` units (names checked)."""
    source, target = unit_name(source, "from"), unit_name(target, "to")
    (dim_from, factor_from), (dim_to, factor_to) = UNITS[source], UNITS[target]
    if dim_from != dim_to:
        raise UnitError(
            f"cannot convert {source} ({dim_from}) to {target} ({dim_to})",
            "to",
        )
    ratio = _exact_ratio(factor_from, factor_to)
    if ratio is not None:
        multiply = _MULTIPLY.multiply
        return lambda value: multiply(value, ratio)
    inverse = _exact_ratio(factor_to, factor_from)
    if inverse is None:  # pragma: no cover - every factor above is a terminating decimal
        raise AssertionError(f"no exact ratio between {source} and {target}")
    divide = _DIVIDE.divide
    return lambda value: divide(value, inverse)
