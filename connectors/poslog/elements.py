"""Reading POSLog elements by local name: text, flags, exact decimals, currencies, dates, links.

Producers disagree on namespaces and prefixes, so every lookup here matches the *local* name.
A value that cannot be read raises ``_Reject``: that transaction is rejected, not the file.

Speed: a Transaction is looked up by name a few dozen times, so each element's children are
indexed by local name once (``_kids``) instead of reading every child's tag on each lookup.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.model.sale import TicketLink

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_INDEX: dict[Any, dict[str, list[Any]]] = {}


class _Reject(Exception):
    """One transaction cannot become a Sale; carries the element to name its line."""

    def __init__(self, message: str, element: Any = None) -> None:
        super().__init__(message)
        self.element = element


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _kids(el: Any) -> dict[str, list[Any]]:
    """An element's children by local name, in document order; built once per element.

    A transaction is looked up by name dozens of times, and reading every child's tag in
    Python on each lookup was most of the parser's time. The memo is keyed by the element
    itself (which keeps lxml's proxy, hence the key, alive), so an entry is always that
    element's true index and a miss only costs a rebuild; ``_forget`` drops it all after
    each transaction, before the transaction is cleared, so memory stays flat.
    """
    kids = _INDEX.get(el)
    if kids is None:
        kids = {}
        for child in el:
            tag = child.tag
            if isinstance(tag, str):  # comments and PIs have a factory function as tag
                name = tag.rpartition("}")[2]
                found = kids.get(name)
                if found is None:
                    kids[name] = [child]
                else:
                    found.append(child)
        _INDEX[el] = kids
    return kids


def _forget() -> None:
    """Drop the ``_kids`` memo: call once a transaction is mapped."""
    _INDEX.clear()


def _child(el: Any, *names: str) -> Any:
    """First direct child whose local name is one of ``names`` (any namespace)."""
    if el is None:
        return None
    kids = _INDEX.get(el)
    if kids is None:
        kids = _kids(el)
    if len(names) == 1:
        found = kids.get(names[0])
        return found[0] if found else None
    firsts = [found[0] for name in names if (found := kids.get(name))]
    if len(firsts) > 1:
        return min(firsts, key=el.index)  # several names present: the first in the document
    return firsts[0] if firsts else None


def _first(*elements: Any) -> Any:
    """First element that is not None (an lxml element without children is falsy)."""
    return next((el for el in elements if el is not None), None)


def _children(el: Any, name: str) -> list[Any]:
    if el is None:
        return []
    return list(_kids(el).get(name, ()))


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
