"""Oscar orders (``GET /api/admin/orders/`` items, lines added) to canonical web sales.

The connector stores an order as oscar-api prints it (``number``, ``url``, ``currency``,
``total_incl_tax``, ``status``, ``email``, ``date_placed``...) with ``id`` (from its
``url``) and ``lines`` replaced by the list of its lines (``GET
/api/admin/orders/<id>/lines/``), each completed by the connector with the ``sku`` of its
stock record (``partner_sku`` or the product's ``upc``, as configured), ``stockrecord_id``
and ``partner`` (the partner code). oscar-api's line itself only links the product and the
stock record. Amounts are strings (``"19.99"``); they are read through their text, never as
floats.

Status. Oscar's order statuses are the site's own (``OSCAR_ORDER_STATUS_PIPELINE``; empty
when there is none). An order exists only once checkout placed it (after payment was
authorised) and Oscar allocated its stock then, so every status is a sale except those the
connection names as cancelled (``cancelled_statuses``, default ``Cancelled``/``Canceled``,
compared without case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import CustomerRef, Money, Sale, SaleBody, SaleLine, SaleStatus, TicketKey
from connectors.oscar.client import id_from_url

ORDER = "order"


def parse_time(value: Any) -> datetime | None:
    """oscar-api's ISO 8601 times (``2026-11-23T17:08:43.767643Z``), in UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def optional_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        found = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def order_key(payload: Mapping[str, Any]) -> str | None:
    number = str(payload.get("number") or "").strip()
    return f"order/{number}" if number else None


def status_of(payload: Mapping[str, Any], cancelled: Iterable[str]) -> SaleStatus:
    status = str(payload.get("status") or "").strip().lower()
    if status in {c.strip().lower() for c in cancelled}:
        return SaleStatus.CANCELLED
    return SaleStatus.COMPLETED


def decode_order(
    payload: Mapping[str, Any], *, store: str, cancelled: Iterable[str]
) -> list[SaleBody]:
    number = str(payload.get("number") or "").strip()
    if not number:
        raise DataError("order payload has no 'number'")
    what = f"order {number}"
    currency = str(payload.get("currency") or "").strip().upper()
    if not currency:
        raise DataError(f"{what} has no currency")
    lines = payload.get("lines")
    if not isinstance(lines, list):
        raise DataError(f"{what}: its lines were not read (got {type(lines).__name__})")
    total = optional_decimal(payload.get("total_incl_tax"))
    email = str(payload.get("email") or "").strip() or None
    owner = payload.get("owner")
    try:
        sale = Sale(
            key=TicketKey(store=store, transaction_id=number),
            status=status_of(payload, cancelled),
            occurred_at=parse_time(payload.get("date_placed")),
            currency=currency,
            lines=tuple(
                _line(row, currency, position, what)
                for position, row in enumerate(lines, start=1)
                if isinstance(row, Mapping)
            ),
            total=Money(amount=total, currency=currency) if total is not None else None,
            customer=CustomerRef(email=email) if email else None,
            channel="web",
            # The basket it was placed from: one the ``baskets`` stream read or a write opened.
            basket=id_from_url(payload.get("basket")),
        )
    except ValidationError as exc:
        raise DataError(f"{what}: {exc}") from None
    if owner and sale.customer is not None:
        user_id = str(owner).rstrip("/").rsplit("/", 1)[-1]
        if user_id.isdigit():
            customer = sale.customer.model_copy(update={"channel_ids": {"oscar": user_id}})
            sale = sale.model_copy(update={"customer": customer})
    return [SaleBody(sale=sale)]


def _line(row: Mapping[str, Any], currency: str, position: int, what: str) -> SaleLine:
    line_no = str(row.get("id") or position)
    sku = str(row.get("sku") or "").strip()
    if not sku:
        raise DataError(
            f"{what} line {line_no}: no SKU (stock record {row.get('stockrecord')!r} unknown)"
        )
    quantity = optional_decimal(row.get("quantity"))
    if quantity is None:
        raise DataError(f"{what} line {line_no}: quantity {row.get('quantity')!r}")
    # oscar-api's line prices are line totals (``line_price_incl_tax``...), incl. tax.
    amount = optional_decimal(row.get("price_incl_tax"))
    before = optional_decimal(row.get("price_incl_tax_excl_discounts"))
    gross = before if before is not None else amount
    unit = (gross / quantity).quantize(Decimal("0.01")) if gross is not None and quantity else None
    discount = before - amount if before is not None and amount is not None else None
    return SaleLine(
        line_no=line_no,
        sku=sku,
        quantity=quantity,
        unit_price=Money(amount=unit, currency=currency) if unit is not None else None,
        amount=Money(amount=amount, currency=currency) if amount is not None else None,
        discount=Money(amount=discount, currency=currency) if discount else None,
        description=str(row.get("title") or ""),
    )
