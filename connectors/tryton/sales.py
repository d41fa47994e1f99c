"""Tryton POS sales (``sale.point.sale``) to canonical store sales: pure functions.

The payload of an event is one sale with its lines and payments, numbers as decimal text::

    {"id": 3, "number": "3", "state": "posted", "date": "2026-11-23",
     "create_date": "2026-11-23T10:02:03.123456", "write_date": "2026-11-23T10:02:04.5",
     "store": "1", "point": {"id": 1, "name": "Store 1", "tax_included": true},
     "currency": {"id": 1, "code": "EUR", "digits": 2}, "total": "24.00",
     "lines": [{"id": 5, "product_id": 1, "sku": "SKU-TSHIRT-BLUE", "product_name": "T-shirt",
                "quantity": "2.0", "unit_price": "12.0000", "unit_gross_price": "12.0000",
                "unit_list_price": "9.9174", "amount": "24.00"}],
     "payments": [{"id": 2, "method": "Cash", "method_id": 1, "amount": "24.00"}],
     "basket": "K7M4QXZ3"}

``basket`` is the handoff code of the draft Brique opened for it, if any (``baskets``).

A return is a sale whose lines have negative quantities (and a negative total, refunded
by a cash method). Tryton's ``sale_point`` keeps no link from a return to the sale it
returns: a return line carries no ``TicketLink``.

``create_date``/``write_date`` are Tryton's naive UTC times; the business day is the sale's
``date``. The unit price is what the till showed (``unit_price``: gross when the sale
point's prices include tax).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import Money, Sale, SaleBody, SaleLine, SaleStatus, Tender, TicketKey

SKU_PLACEHOLDER = "product:"
"""A line whose product has no code gets ``product:<product.product id>`` as its SKU."""

STATUS = {
    "done": SaleStatus.COMPLETED,
    "posted": SaleStatus.COMPLETED,
    "cancelled": SaleStatus.CANCELLED,
    "open": SaleStatus.SUSPENDED,
}


def reference(sale: Mapping[str, Any]) -> str:
    """``<number>#<id>``: the event key and the ticket's transaction id (the number comes
    from the sale point's sequence; the id makes it unique across sale points)."""
    sale_id = sale.get("id")
    if isinstance(sale_id, bool) or not isinstance(sale_id, int | str) or sale_id == "":
        raise DataError(f"sale.point.sale without an id ({sale_id!r})")
    return f"{_text(sale.get('number')) or 'sale'}#{sale_id}"


def number_text(value: Any, what: str) -> str | None:
    """A Tryton number (Decimal, int; never a float) as its exact decimal text."""
    if value is None or value is False:
        return None
    if isinstance(value, bool | float):
        raise DataError(f"{what}: {value!r} is a binary float; decode Tryton JSON with Decimals")
    if isinstance(value, int):
        return str(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise DataError(f"{what}: {value!r} is not a number") from exc
    if not number.is_finite():
        raise DataError(f"{what}: {value!r} is not a finite number")
    return format(number, "f")


def utc(value: Any, what: str) -> datetime | None:
    if value in (None, "", False):
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise DataError(f"{what}: {value!r} is not a datetime") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def decode_sale(sale: Mapping[str, Any]) -> SaleBody:
    """One payload (see the module docstring) -> one canonical store sale."""
    ref = reference(sale)
    where = f"sale.point.sale {ref}"
    currency_info = _mapping(sale.get("currency"))
    currency = _text(currency_info.get("code")).upper()
    if not currency:
        raise DataError(f"{where}: no currency")
    places = _places(currency_info.get("digits"), where)
    point = _mapping(sale.get("point"))
    store = _text(sale.get("store")) or _text(point.get("id"))
    if not store:
        raise DataError(f"{where}: no sale point to name the store")
    try:
        day = date.fromisoformat(str(sale["date"])) if sale.get("date") else None
    except ValueError as exc:
        raise DataError(f"{where}: date {sale.get('date')!r} is not a date") from exc
    occurred = utc(sale.get("create_date"), f"{where} create_date")
    try:
        lines = [
            _line(raw, n, currency, places, where)
            for n, raw in enumerate(_list(sale, "lines", where), start=1)
        ]
        body = Sale(
            key=TicketKey(store=store, business_day=day, transaction_id=ref),
            status=STATUS.get(_text(sale.get("state")), SaleStatus.OTHER),
            occurred_at=occurred,
            currency=currency,
            lines=tuple(lines),
            tenders=tuple(_tenders(sale, currency, places, where)),
            total=_money(sale.get("total"), currency, places, f"{where} total"),
            channel="store",
            basket=_text(sale.get("basket")) or None,
        )
    except ValidationError as exc:
        raise DataError(f"{where}: {exc}") from exc
    return SaleBody(sale=body)


def _line(
    raw: Mapping[str, Any], position: int, currency: str, places: int, where: str
) -> SaleLine:
    line_id = _text(raw.get("id")) or str(position)
    label = f"{where} line {line_id}"
    text = number_text(raw.get("quantity"), f"{label} quantity")
    if text is None:
        raise DataError(f"{label}: no quantity")
    quantity = _plain(Decimal(text))
    price_text = number_text(raw.get("unit_price"), f"{label} unit_price")
    price = None if price_text is None else Money(amount=Decimal(price_text), currency=currency)
    product = _text(raw.get("product_id"))
    sku = _text(raw.get("sku")) or (SKU_PLACEHOLDER + product if product else "")
    if not sku:
        raise DataError(f"{label}: neither a product code nor a product id")
    return SaleLine(
        line_no=line_id,
        sku=sku,
        quantity=quantity,
        unit_price=price,
        amount=_money(raw.get("amount"), currency, places, f"{label} amount"),
        description=_text(raw.get("product_name")),
        unit=_text(raw.get("unit")) or None,
        is_return=quantity < 0,
    )


def _tenders(sale: Mapping[str, Any], currency: str, places: int, where: str) -> list[Tender]:
    """Payments as tenders; a negative amount (change, a refund) is a refund tender."""
    tenders = []
    for raw in _list(sale, "payments", where):
        money = _money(raw.get("amount"), currency, places, f"{where} payment {raw.get('id')}")
        if money is None or money.amount == 0:
            continue
        tenders.append(
            Tender(
                kind=_text(raw.get("method")) or "unknown",
                amount=Money(amount=money.amount.copy_abs(), currency=currency),
                refund=money.amount < 0,
            )
        )
    return tenders


def _money(value: Any, currency: str, places: int, what: str) -> Money | None:
    text = number_text(value, what)
    if text is None:
        return None
    amount = Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return Money(amount=amount.copy_abs() if amount == 0 else amount, currency=currency)


def _plain(number: Decimal) -> Decimal:
    """``2.0`` (a Float field) as ``2``; ``1.5`` unchanged."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def _places(value: Any, where: str) -> int:
    if value is None or value is False:
        return 2
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DataError(f"{where}: currency digits {value!r} is not a whole number")
    try:
        places = int(value)
    except ValueError:
        raise DataError(f"{where}: currency digits {value!r} is not a number") from None
    if not 0 <= places <= 6:
        raise DataError(f"{where}: currency digits {places} is out of range")
    return places


def _list(sale: Mapping[str, Any], field: str, where: str) -> list[Mapping[str, Any]]:
    value = sale.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(f"{where}: {field} is not a list")
    return [item for item in value if isinstance(item, Mapping)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()
