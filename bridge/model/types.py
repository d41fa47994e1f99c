"""Strict scalar types shared by every canonical record.

Identifiers are strings (a SKU ``"00123"`` must keep its zeros) and money is ``Decimal``:
an ``int`` SKU or a ``float`` amount is refused with a message saying what to send instead.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, StringConstraints


def _strict_identifier(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, int | float | Decimal):
        raise ValueError(
            f"identifiers must be strings, got {type(value).__name__} {value!r}; "
            f"quote it (e.g. '{value}') so leading zeros survive"
        )
    # Strip here: pydantic checks min_length before its own strip, so "  " would pass as "".
    return value.strip() if isinstance(value, str) else value


def _strict_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a decimal number, got a boolean")
    if isinstance(value, float):
        raise ValueError(
            f"float {value!r} refused: send money and quantities as a string or Decimal "
            f"(e.g. '{value}') so no precision is lost"
        )
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a decimal number") from exc
    if isinstance(value, int):
        return Decimal(value)
    return value


Identifier = Annotated[
    str,
    # Constraints first: they then compile into pydantic's core (twice as fast on every
    # record); the validator, listed after, still runs before them and does the strip.
    StringConstraints(min_length=1, max_length=255),
    BeforeValidator(_strict_identifier),
]
"""A SKU, EAN, store code or external id: always a non-empty string."""


def _optional_identifier(value: Any) -> Any:
    value = _strict_identifier(value)
    return None if value is None or value == "" else value


OptionalIdentifier = Annotated[str | None, BeforeValidator(_optional_identifier)]
"""An identifier or None; an empty (or blank) string means None."""

Dec = Annotated[
    Decimal,
    BeforeValidator(_strict_decimal),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""A Decimal that refuses floats and serialises to JSON as an exact string."""

CurrencyCode = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[A-Z]{3}$"),
]
"""An ISO 4217 alphabetic code such as ``EUR``."""
