"""Reading one CSV cell: exact decimals (decimal comma or point), dates, flags, statuses.

Each function raises ``ValueError`` with a message fit for an admin; the reader prefixes it
with ``file:line``. Nothing here guesses: a comma in a number is refused unless the source
says ``decimal_comma: true``, because reading ``1,250`` as 1250 or as 1.25 by guess would
silently sell a thousand times too much or too little.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from bridge.model import SaleStatus

_PLAIN = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_COMMA_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+,\d*$")
_SPACES = str.maketrans("", "", " \u00a0\u202f")
"""Spaces, no-break and narrow no-break spaces: thousands separators in many locales."""

TRUE = frozenset({"1", "true", "t", "yes", "y", "x", "void", "voided"})
FALSE = frozenset({"0", "false", "f", "no", "n"})

STATUSES: dict[str, SaleStatus] = {
    **{s.value: s for s in SaleStatus},
    "complete": SaleStatus.COMPLETED,
    "finished": SaleStatus.COMPLETED,
    "canceled": SaleStatus.CANCELLED,
    "void": SaleStatus.VOIDED,
}
"""Status texts understood (case-insensitive); any other value is ``other`` (moves no stock).
A till's own codes are translated in the mapping (``fields: {status: {from: status, apply:
[{map: {...}}]}}``)."""


def parse_decimal(text: str, *, decimal_comma: bool = False) -> Decimal:
    """An exact Decimal from a till's text; spaces as thousands separators are allowed."""
    raw = text
    text = text.translate(_SPACES)
    if decimal_comma:
        if "." in text:
            if not _COMMA_THOUSANDS.match(text):
                raise ValueError(
                    f"{raw!r} is not a number with a decimal comma (decimal_comma is true: "
                    "a '.' may only separate thousands, as in 1.234,50)"
                )
            text = text.replace(".", "")
        text = text.replace(",", ".")
    elif "," in text:
        raise ValueError(
            f"{raw!r} is not a number: set decimal_comma: true if the till writes decimal "
            "commas (12,50)"
        )
    if not _PLAIN.match(text):
        raise ValueError(f"{raw!r} is not a number")
    return Decimal(text)


def as_decimal(value: Any, what: str) -> Decimal | None:
    """A payload value (text with a decimal point, Decimal or int) as Decimal; floats refused."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"{what}: {value!r} refused: give exact numbers as text or Decimal")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not _PLAIN.match(text):
            raise ValueError(f"{what}: {value!r} is not a number with a decimal point")
        return Decimal(text)
    raise ValueError(f"{what}: expected a number, got {type(value).__name__} {value!r}")


def parse_datetime(text: str, fmt: str | None, zone: tzinfo | None) -> datetime:
    """``fmt`` (strptime) or ISO 8601; a naive time gets ``zone`` when one is configured."""
    try:
        value = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    except ValueError:
        expected = f"the format {fmt!r}" if fmt else "an ISO 8601 date and time"
        raise ValueError(f"{text!r} is not {expected}") from None
    if value.tzinfo is None and zone is not None:
        value = value.replace(tzinfo=zone)
    return value


def parse_day(text: str, fmt: str | None) -> date:
    """A business day: ``fmt`` (strptime) or ISO 8601 (a time part is ignored)."""
    try:
        if fmt:
            return datetime.strptime(text, fmt).date()
        try:
            return date.fromisoformat(text)
        except ValueError:
            return datetime.fromisoformat(text).date()
    except ValueError:
        expected = f"the format {fmt!r}" if fmt else "an ISO 8601 date"
        raise ValueError(f"{text!r} is not {expected}") from None


def parse_flag(value: Any, what: str = "") -> bool:
    """A yes/no cell: 1/0, true/false, yes/no, y/n, x; empty is no."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if not text or text in FALSE:
        return False
    if text in TRUE:
        return True
    prefix = f"{what}: " if what else ""
    raise ValueError(f"{prefix}{value!r} is neither yes (1, true, yes, x) nor no (0, false, no)")


def parse_status(value: Any) -> SaleStatus:
    if value is None or not str(value).strip():
        return SaleStatus.COMPLETED
    return STATUSES.get(str(value).strip().lower(), SaleStatus.OTHER)


def plain(value: Decimal) -> str:
    """A Decimal as exact text with a decimal point (what the payload stores)."""
    return format(value, "f")
