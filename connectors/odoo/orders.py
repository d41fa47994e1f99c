"""Odoo POS orders to canonical store sales: pure functions, no network, no state.

The payload of an event is one ``pos.order`` with what the tills showed (the shape of the POS
UI's order data, flattened and made readable)::

    {"id": 101, "name": "Shop/0001", "pos_reference": "Order 00012-001-0001",
     "sequence_number": 1, "state": "paid", "date_order": "2024-03-05 09:12:44",
     "write_date": "2024-03-05 09:12:45", "store": "1",
     "config": {"id": 1, "name": "Shop"}, "session": {"id": 12, "name": "POS/00012"},
     "currency": {"id": 1, "name": "EUR", "decimal_places": 2},
     "partner": {"id": 7, "name": ..., "email": ..., "phone": ..., "barcode": ..., "ref": ...},
     "amount_total": "42.91", "amount_tax": ..., "amount_paid": ..., "amount_return": ...,
     "lines": [{"id": 201, "product_id": 31, "sku": "FURN_0269", "barcode": ...,
                "product_name": ..., "uom": "Units", "qty": "2.0", "price_unit": "12.5",
                "discount": "0.0", "price_subtotal": ..., "price_subtotal_incl": "25.0",
                "refunded_orderline_id": null, "refunded_order": null}],
     "payments": [{"id": 301, "method": "Cash", "payment_method_id": 1, "amount": "30.0",
                   "is_change": false}]}

Numbers are the decimal text Odoo wrote (never a float); ``store`` is the ``pos.config`` id
unless the mapping's inbound ``sale`` rules set another (two tills of one shop, one store).

Dates: Odoo stores and returns every datetime in UTC, without an offset
(``2024-03-05 09:12:44`` is UTC whatever the user's or the company's time zone), so they are
read as UTC; the configured time zone gives only the business day of a ticket.

Money: amounts are rounded to the currency's ``decimal_places`` (``res.currency``), half up
as Odoo's own currency rounding does: a ``0.30000000000000004`` total (a sum made in
floats on the server) is ``0.30``. Unit prices and quantities keep the digits Odoo wrote,
unless they carry float noise (more than ``MAX_PLACES`` decimals), which is rounded off.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import (
    CustomerRef,
    Money,
    Sale,
    SaleBody,
    SaleLine,
    SaleStatus,
    Tender,
    TicketKey,
    TicketLink,
)

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_PLACES = 6
"""Decimals kept on unit prices, quantities and discount rates; more is float noise."""
SKU_PLACEHOLDER = "product:"
"""A line whose product has no Internal Reference (``default_code``) gets the SKU
``product:<product.product id>``, which the mapping's ``skus`` crosswalk can translate."""

STATUS = {
    "paid": SaleStatus.COMPLETED,
    "done": SaleStatus.COMPLETED,
    "invoiced": SaleStatus.COMPLETED,
    "cancel": SaleStatus.CANCELLED,
    "draft": SaleStatus.SUSPENDED,
}
"""``pos.order.state``; ``done`` is "Posted" (session closed), ``invoiced`` has an invoice."""


def parse_utc(value: Any, what: str) -> datetime | None:
    """An Odoo datetime (``YYYY-MM-DD HH:MM:SS``, UTC, no offset) as an aware datetime."""
    if value is None or value is False or value == "":
        return None
    try:
        return datetime.strptime(str(value).strip()[:19], DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise DataError(f"{what} {value!r} is not an Odoo datetime (YYYY-MM-DD HH:MM:SS)") from exc


def ticket_reference(order: Mapping[str, Any]) -> str:
    """``<pos_reference>#<id>``: the event key and the ticket's transaction id.

    ``pos_reference`` ("Order 00012-001-0001") is what the receipt shows but is not unique:
    a refund made from the back office copies it from the order it refunds in some versions,
    and ``name`` ("Shop/0001 REFUND") repeats too. The record id makes it unique, and neither
    changes when the order moves from paid to posted or invoiced.
    """
    order_id = order.get("id")
    if isinstance(order_id, bool) or not isinstance(order_id, int | str) or order_id == "":
        raise DataError(f"pos.order without an id ({order_id!r})")
    reference = _text(order.get("pos_reference")) or _text(order.get("name")) or "pos.order"
    return f"{reference}#{order_id}"


def decimal_text(value: Any, what: str) -> str | None:
    """An Odoo number as read (Decimal or int) as its exact decimal text; None if unset."""
    if value is None or value is False:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise DataError(f"{what}: {value!r} is a binary float; read the JSON with Decimals")
    if isinstance(value, int):
        return str(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise DataError(f"{what}: {value!r} is not a number") from exc
    if not number.is_finite():
        raise DataError(f"{what}: {value!r} is not a finite number")
    return format(number, "f")


def decode_order(order: Mapping[str, Any], *, zone: tzinfo, sequences: bool = False) -> SaleBody:
    """One payload (see the module docstring) -> one canonical store sale."""
    reference = ticket_reference(order)
    where = f"pos.order {reference}"
    currency_info = order.get("currency")
    if not isinstance(currency_info, Mapping) or not _text(currency_info.get("name")):
        raise DataError(f"{where}: no currency")
    currency = _text(currency_info.get("name"))
    places = _places(currency_info.get("decimal_places"), where)
    config = _mapping(order.get("config"))
    session = _mapping(order.get("session"))
    store = _text(order.get("store")) or _ident(config.get("id"))
    if not store:
        raise DataError(f"{where}: no point of sale (config) to name the store")
    occurred = parse_utc(order.get("date_order"), f"{where} date_order")
    sequence = None
    if sequences:
        sequence = _ident(order.get("sequence_number"))
    try:
        key = TicketKey(
            store=store,
            workstation=_text(session.get("name")) or _ident(session.get("id")),
            business_day=occurred.astimezone(zone).date() if occurred else None,
            sequence=sequence,
            transaction_id=reference,
        )
        lines = [
            _line(raw, n, currency, places, where)
            for n, raw in enumerate(_list(order, "lines", where), start=1)
        ]
        originals = {
            line.link.transaction_id: line.link
            for line in lines
            if line.link is not None and line.link.transaction_id
        }
        link = None
        if len(originals) == 1:
            (origin,) = originals.values()
            link = origin.model_copy(update={"line": None})
        sale = Sale(
            key=key,
            status=STATUS.get(_text(order.get("state")), SaleStatus.OTHER),
            occurred_at=occurred,
            currency=currency,
            lines=tuple(lines),
            tenders=tuple(_tenders(order, currency, places, where)),
            total=_money(order.get("amount_total"), currency, places, f"{where} amount_total"),
            customer=_customer(order.get("partner")),
            channel="store",
            link=link,
        )
    except ValidationError as exc:
        raise DataError(f"{where}: {exc}") from exc
    return SaleBody(sale=sale)


def _line(
    raw: Mapping[str, Any], position: int, currency: str, places: int, where: str
) -> SaleLine:
    line_id = _ident(raw.get("id")) or str(position)
    label = f"{where} line {line_id}"
    quantity = _exact(raw.get("qty"), f"{label} qty")
    if quantity is None:
        raise DataError(f"{label}: no quantity")
    price = _exact(raw.get("price_unit"), f"{label} price_unit")
    rate = _exact(raw.get("discount"), f"{label} discount") or Decimal(0)
    product = _ident(raw.get("product_id"))
    sku = _text(raw.get("sku")) or (SKU_PLACEHOLDER + product if product else "")
    if not sku:
        raise DataError(f"{label}: neither an Internal Reference nor a product id")
    discount = None
    if price is not None and rate:
        discount = _rounded(abs(quantity * price * rate / 100), places)
    refunded_line = _ident(raw.get("refunded_orderline_id"))
    link = None
    origin = raw.get("refunded_order")
    if isinstance(origin, Mapping) and origin.get("id") is not None:
        link = TicketLink(
            store=_text(origin.get("store")) or _ident(_mapping(origin.get("config")).get("id")),
            workstation=_text(_mapping(origin.get("session")).get("name")),
            transaction_id=ticket_reference(origin),
            line=refunded_line,
        )
    elif refunded_line:
        link = TicketLink(line=refunded_line)
    return SaleLine(
        line_no=line_id,
        sku=sku,
        quantity=quantity,
        unit_price=None if price is None else Money(amount=price, currency=currency),
        amount=_money(raw.get("price_subtotal_incl"), currency, places, f"{label} total"),
        discount=None if not discount else Money(amount=discount, currency=currency),
        description=_text(raw.get("product_name")),
        barcode=_text(raw.get("barcode")) or None,
        unit=_text(raw.get("uom")) or None,
        is_return=quantity < 0,
        link=link,
    )


def _tenders(order: Mapping[str, Any], currency: str, places: int, where: str) -> list[Tender]:
    """Payments as tenders; a negative amount (change handed back, money refunded) is a
    refund tender of the same method, with a positive amount."""
    tenders = []
    for raw in _list(order, "payments", where):
        label = f"{where} payment {_ident(raw.get('id')) or '?'}"
        money = _money(raw.get("amount"), currency, places, label)
        if money is None or money.amount == 0:
            continue
        kind = _text(raw.get("method")) or "unknown"
        refund = money.amount < 0
        amount = money.amount.copy_abs()
        tenders.append(
            Tender(kind=kind, amount=Money(amount=amount, currency=currency), refund=refund)
        )
    return tenders


def _customer(partner: Any) -> CustomerRef | None:
    if not isinstance(partner, Mapping) or partner.get("id") in (None, False):
        return None
    email = _text(partner.get("email"))
    return CustomerRef(
        customer_id=_text(partner.get("ref")) or None,
        loyalty_card=_text(partner.get("barcode")) or None,
        email=email if "@" in email else None,
        phone=_text(partner.get("phone")) or _text(partner.get("mobile")) or None,
        name=_text(partner.get("name")) or None,
        channel_ids={"odoo": _ident(partner.get("id"))},
    )


def _money(value: Any, currency: str, places: int, what: str) -> Money | None:
    """An amount rounded once, from the digits Odoo wrote, to the currency's decimals."""
    text = decimal_text(value, what)
    if text is None:
        return None
    return Money(amount=_rounded(Decimal(text), places), currency=currency)


def _rounded(number: Decimal, places: int) -> Decimal:
    """Half up to the currency's decimals, as ``res.currency.round`` does; never ``-0.00``."""
    result = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return result.copy_abs() if result == 0 else result


def _exact(value: Any, what: str) -> Decimal | None:
    """The number as written, float noise beyond ``MAX_PLACES`` decimals rounded off."""
    text = decimal_text(value, what)
    if text is None:
        return None
    number = Decimal(text)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        number = number.quantize(Decimal(1).scaleb(-MAX_PLACES), rounding=ROUND_HALF_UP)
        number = (
            number.quantize(Decimal(1)) if number == number.to_integral() else number.normalize()
        )
    return number


def _places(value: Any, where: str) -> int:
    if value is None or value is False:
        return 2
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DataError(f"{where}: currency decimal_places {value!r} is not a whole number")
    try:
        places = int(value)
    except ValueError:
        raise DataError(f"{where}: currency decimal_places {value!r} is not a number") from None
    if not 0 <= places <= 6:
        raise DataError(f"{where}: currency decimal_places {places} is out of range")
    return places


def _list(order: Mapping[str, Any], field: str, where: str) -> list[Mapping[str, Any]]:
    value = order.get(field)
    if value is None or value is False:
        return []
    if not isinstance(value, list):
        raise DataError(f"{where}: {field} is not a list")
    return [item for item in value if isinstance(item, Mapping)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    """Odoo writes ``false`` for an empty text field."""
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()


def _ident(value: Any) -> str:
    """An id (int, text, or a many2one ``[id, "name"]``) as text; '' when unset."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()
