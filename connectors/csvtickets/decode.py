"""A native CSV ticket (the inbox payload) into a canonical ``Sale``.

The payload is what ``reader`` made of the file, possibly overlaid by the mapping's inbound
field rules, so values may be text (decimals with a point, ISO dates), or Decimals, dates and
booleans the mapping's functions produced. Floats are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from bridge.model import CustomerRef, Money, Sale, SaleLine, Tender, TicketKey, TicketLink
from connectors.csvtickets.config import CsvConfig
from connectors.csvtickets.values import as_decimal, parse_datetime, parse_day, parse_flag
from connectors.csvtickets.values import parse_status as _status


def _text(value: Any) -> str | None:
    """Identifiers and codes stay text; an empty value is None. Numbers are refused so a
    mapping turning ``00042`` into 42 cannot lose the zeros silently."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | Decimal):
        raise ValueError(f"{value!r} must be text (identifiers keep their leading zeros)")
    text = str(value).strip()
    return text or None


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_day(str(value).strip(), None)


def _moment(value: Any, zone: tzinfo | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        moment = parse_datetime(str(value).strip(), None, None)
    if moment.tzinfo is None and zone is not None:
        moment = moment.replace(tzinfo=zone)
    return moment


def _money(value: Any, currency: str, what: str) -> Money | None:
    amount = as_decimal(value, what)
    return None if amount is None else Money(amount=amount, currency=currency)


def _link(store: str, value: Any, config: CsvConfig) -> TicketLink | None:
    original = _text(value)
    if original is None:
        return None
    if config.ticket_kind == "id":
        return TicketLink(store=store, transaction_id=original)
    return TicketLink(store=store, sequence=original)


def ticket_key(ticket: Mapping[str, Any], config: CsvConfig) -> TicketKey:
    number = _text(ticket.get("ticket"))
    return TicketKey(
        store=_text(ticket.get("store")),
        workstation=_text(ticket.get("workstation")),
        business_day=_day(ticket.get("business_day")),
        sequence=number if config.ticket_kind == "number" else None,
        transaction_id=number if config.ticket_kind == "id" else None,
    )


def to_sale(ticket: Mapping[str, Any], config: CsvConfig, zone: tzinfo | None) -> Sale:
    """The canonical sale of one native ticket; ``ValueError`` (or pydantic's
    ``ValidationError``, a subclass) names what is wrong."""
    key = ticket_key(ticket, config)
    currency = _text(ticket.get("currency")) or config.default_currency
    if currency is None:
        raise ValueError("no currency: map a currency column or set default_currency")
    rows = ticket.get("lines") or []
    if not isinstance(rows, list):
        raise ValueError("'lines' is not a list")
    lines = [_line(row, key.store, currency, config) for row in rows]
    return Sale(
        key=key,
        status=_status(ticket.get("status")),
        occurred_at=_moment(ticket.get("occurred_at"), zone),
        currency=currency,
        lines=tuple(lines),
        tenders=_tenders(ticket, lines, currency),
        customer=_customer(ticket.get("customer")),
        link=_ticket_link(lines),
    )


def _line(row: Any, store: str, currency: str, config: CsvConfig) -> SaleLine:
    if not isinstance(row, Mapping):
        raise ValueError(f"a line is a {type(row).__name__}, not a mapping")
    raw_number = row.get("line")
    if isinstance(raw_number, int) and not isinstance(raw_number, bool):
        raw_number = str(raw_number)  # a mapping's ``integer``: line numbers have no zeros
    number = _text(raw_number)
    where = f"line {number}"
    quantity = as_decimal(row.get("quantity"), f"{where} quantity")
    if quantity is None:
        raise ValueError(f"{where}: no quantity")
    is_return = quantity < 0
    amount = _money(row.get("amount"), currency, f"{where} amount")
    if amount is not None and is_return and amount.amount > 0:
        # Tills write a return's amount unsigned; the canonical amount follows the quantity.
        amount = Money(amount=amount.amount.copy_negate(), currency=currency)
    return SaleLine(
        line_no=number,
        sku=_text(row.get("sku")),
        quantity=quantity,
        unit_price=_money(row.get("unit_price"), currency, f"{where} unit_price"),
        amount=amount,
        description=_text(row.get("description")) or "",
        barcode=_text(row.get("barcode")),
        is_return=is_return,
        voided=parse_flag(row.get("voided"), f"{where} voided"),
        link=_link(store, row.get("return_of"), config),
    )


def _tenders(ticket: Mapping[str, Any], lines: list[SaleLine], currency: str) -> tuple[Tender, ...]:
    """One tender per ticket: its kind, and its amount (else what the lines add up to)."""
    kind = _text(ticket.get("tender"))
    if kind is None:
        return ()
    amount = as_decimal(ticket.get("tender_amount"), "tender_amount")
    if amount is None:
        counted = [line.amount for line in lines if not line.voided]
        if not counted or any(a is None for a in counted):
            return ()  # nothing says how much was paid
        amount = sum((a.amount for a in counted if a is not None), Decimal(0))
    return (Tender(kind=kind, amount=Money(amount=amount, currency=currency), refund=amount < 0),)


def _customer(value: Any) -> CustomerRef | None:
    text = _text(value)
    if text is None:
        return None
    if "@" in text:
        return CustomerRef(email=text)
    return CustomerRef(loyalty_card=text)


def _ticket_link(lines: list[SaleLine]) -> TicketLink | None:
    """The original ticket, when every linked line names the same one."""
    links = {line.link for line in lines if line.link is not None}
    return links.pop() if len(links) == 1 else None
