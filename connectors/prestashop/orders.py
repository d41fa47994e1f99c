"""PrestaShop orders to canonical web sales: pure functions, no network, no state.

Dates: PrestaShop stores ``date_add``/``date_upd`` as shop-local wall-clock time without an
offset (``2016-12-07 15:13:53``, in the shop's ``PS_TIMEZONE``), so they are read in the
configured ``timezone`` and converted to UTC. ``0000-00-00 00:00:00`` means "never".

Statuses: ``current_state`` is an ``order_states`` id. The default mapping follows the states a
PrestaShop install creates, in their install order (``install-dev/data/xml/order_state.xml``):

====  ===============================  ============
id    state                            status
====  ===============================  ============
1     Awaiting check payment           suspended
2     Payment accepted                 completed
3     Processing in progress           completed
4     Shipped                          completed
5     Delivered                        completed
6     Canceled                         cancelled
7     Refunded                         cancelled
8     Payment error                    other
9     On backorder (paid)              completed
10    Awaiting bank wire payment       suspended
11    Remote payment accepted          completed
12    On backorder (not paid)          suspended
13    Awaiting Cash On Delivery        suspended
====  ===============================  ============

A state not in the table (payment modules add their own) follows the order's ``valid`` flag,
which PrestaShop sets when the order reaches a "logable" (validated) state: ``1`` completed,
otherwise suspended. ``order_states`` in the connection settings overrides any id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import Money, Sale, SaleBody, SaleLine, SaleStatus, TicketKey

DEFAULT_ORDER_STATES: dict[str, SaleStatus] = {
    "1": SaleStatus.SUSPENDED,
    "2": SaleStatus.COMPLETED,
    "3": SaleStatus.COMPLETED,
    "4": SaleStatus.COMPLETED,
    "5": SaleStatus.COMPLETED,
    "6": SaleStatus.CANCELLED,
    "7": SaleStatus.CANCELLED,
    "8": SaleStatus.OTHER,
    "9": SaleStatus.COMPLETED,
    "10": SaleStatus.SUSPENDED,
    "11": SaleStatus.COMPLETED,
    "12": SaleStatus.SUSPENDED,
    "13": SaleStatus.SUSPENDED,
}

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
NEVER = "0000-00-00 00:00:00"


def local_datetime(value: Any, zone: tzinfo, what: str) -> datetime | None:
    """A shop-local ``YYYY-MM-DD HH:MM:SS`` as an aware UTC datetime; None if empty/never."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        naive = datetime.strptime(text, DATE_FORMAT)
    except ValueError as exc:
        raise DataError(f"{what} {text!r} is not a PrestaShop date (YYYY-MM-DD HH:MM:SS)") from exc
    return naive.replace(tzinfo=zone).astimezone(UTC)


def status_of(
    payload: Mapping[str, Any], states: Mapping[str, SaleStatus] = DEFAULT_ORDER_STATES
) -> SaleStatus:
    state = str(payload.get("current_state") or "").strip()
    if state in states:
        return states[state]
    return (
        SaleStatus.COMPLETED
        if str(payload.get("valid") or "").strip() == "1"
        else (SaleStatus.SUSPENDED)
    )


def decode_order(
    payload: Mapping[str, Any],
    *,
    store: str,
    zone: tzinfo,
    currency_of: Callable[[str], str],
    states: Mapping[str, SaleStatus] = DEFAULT_ORDER_STATES,
) -> list[SaleBody]:
    """An order (as ``xml.to_dict`` gives it, ``display=full``) -> one web sale."""
    order_id = str(payload.get("id") or "").strip()
    if not order_id:
        raise DataError("order without an id")
    id_currency = str(payload.get("id_currency") or "").strip()
    if not id_currency:
        raise DataError(f"order {order_id} has no id_currency")
    currency = currency_of(id_currency)
    reference = str(payload.get("reference") or "").strip()
    associations = payload.get("associations")
    rows = associations.get("order_rows") if isinstance(associations, Mapping) else None
    try:
        lines = tuple(
            _line(order_id, row, currency, position)
            for position, row in enumerate(rows or (), start=1)
        )
        total = payload.get("total_paid_tax_incl") or payload.get("total_paid")
        sale = Sale(
            key=TicketKey(store=store, transaction_id=reference or order_id),
            status=status_of(payload, states),
            occurred_at=local_datetime(payload.get("date_add"), zone, f"order {order_id} date_add"),
            currency=currency,
            lines=lines,
            total=Money(amount=_decimal(total, f"order {order_id} total"), currency=currency)
            if total not in (None, "")
            else None,
            channel="web",
        )
    except ValidationError as exc:
        raise DataError(f"order {order_id}: {exc}") from exc
    return [SaleBody(sale=sale)]


def _line(order_id: str, row: Any, currency: str, position: int) -> SaleLine:
    if not isinstance(row, Mapping):
        raise DataError(f"order {order_id}: row {position} is not an order_row")
    line_no = str(row.get("id") or position).strip()
    sku = str(row.get("product_reference") or "").strip()
    if not sku:
        name = row.get("product_name") or row.get("product_id") or "?"
        raise DataError(
            f"order {order_id}: row {line_no} ({name}) has no product_reference; give the "
            "product or combination a reference in PrestaShop"
        )
    price = row.get("unit_price_tax_incl")
    return SaleLine(
        line_no=line_no,
        sku=sku,
        quantity=_decimal(row.get("product_quantity"), f"order {order_id} row {line_no} quantity"),
        unit_price=Money(
            amount=_decimal(price, f"order {order_id} row {line_no} unit_price_tax_incl"),
            currency=currency,
        )
        if price not in (None, "")
        else None,
        description=str(row.get("product_name") or ""),
    )


def _decimal(value: Any, what: str) -> Decimal:
    if value is None or str(value).strip() == "":
        raise DataError(f"{what} is missing")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise DataError(f"{what} {value!r} is not a number") from exc
    if not number.is_finite():
        raise DataError(f"{what} {value!r} is not a finite number")
    return number
