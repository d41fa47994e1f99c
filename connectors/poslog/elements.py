"""Reading POSLog elements by local name: text, flags, exact decimals, currencies, dates, links.

Producers disagree on namespaces and prefixes, so every lookup here matches the *local* name.
A value that cannot be read raises ``_Reject``: that transaction is rejected, not the file.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.model.sale import TicketLink

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class _Reject(Exception):
    """One transaction cannot become a Sale; carries the element to name its line."""

    def __init__(self, message: str, element: Any = None) -> None:
        super().__init__(message)
        self.element = element


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(el: Any, *names: str) -> Any:
    """First direct child whose local name is one of ``names`` (any namespace)."""
    if el is None:
        return None
    for child in el:
        if _local(child) in names:
            return child
    return None


def _first(*elements: Any) -> Any:
    """First element that is not None (an lxml element without children is falsy)."""
    return next((el for el in elements if el is not None), None)


def _children(el: Any, *names: str) -> list[Any]:
    if el is None:
        return []
    return [child for child in el if _local(child) in names]


def _text(el: Any, *path: str) -> str | None:
    """Stripped text at a path of local names below ``el``; None when absent or blank."""
    for name in path:
        el = _child(el, name)
        if el is None:
            return None
    if el is None or el.text is None:
        return None
    value = el.text.strip()
    return value or None


def _flag(el: Any, name: str) -> bool:
    value = el.get(name) if el is not None else None
    return value is not None and value.strip().lower() in ("true", "1")


def _decimal(el: Any, what: str) -> Decimal:
    """Exact Decimal from an element's text; floats never touch a POS amount."""
    raw = (el.text or "").strip() if el is not None else ""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _Reject(f"{what}: {raw!r} is not a decimal number", el) from None
    if not value.is_finite():
        raise _Reject(f"{what}: {raw!r} is not a finite number", el)
    return value


def _currency_attr(el: Any) -> str | None:
    """``@Currency``/``@CurrencyCode`` when it is a real ISO code (roqqio writes "XXX")."""
    if el is None:
        return None
    for name in ("Currency", "CurrencyCode"):
        value = (el.get(name) or "").strip().upper()
        if _CURRENCY.match(value) and value != "XXX":
            return value
    return None


def _datetime(el: Any, tz: tzinfo | None) -> datetime | None:
    if el is None or not (el.text or "").strip():
        return None
    raw = el.text.strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _Reject(f"{_local(el)}: {raw!r} is not an ISO date-time", el) from None
    if value.tzinfo is None and tz is not None:
        value = value.replace(tzinfo=tz)
    return value


def _date(el: Any) -> date | None:
    if el is None or not (el.text or "").strip():
        return None
    raw = el.text.strip()
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise _Reject(f"{_local(el)}: {raw!r} is not an ISO date", el) from None


def _store_id(el: Any) -> str | None:
    """V6 ``BusinessUnit/UnitID``, V2.x ``RetailStoreID``."""
    return _text(el, "BusinessUnit", "UnitID") or _text(el, "RetailStoreID")


def _link(el: Any) -> TicketLink | None:
    """TransactionLink -> pointer to the original ticket (returns, post-voids)."""
    if el is None:
        return None
    link = TicketLink(
        store=_store_id(el),
        workstation=_text(el, "WorkstationID"),
        business_day=_date(_child(el, "BusinessDayDate")),
        sequence=_text(el, "SequenceNumber"),
        transaction_id=_text(el, "TransactionID"),
        line=_text(el, "LineItemSequenceNumber"),
    )
    return link if link.model_dump(exclude_none=True) else None
