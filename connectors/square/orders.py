"""Square ``Order`` objects to canonical sales: pure functions, no network, no state.

"Everything is an order" at Square: a sale is an order, and a return is a *separate* order
whose ``returns[]`` hold the returned lines (``return_line_items[]``, each pointing at the
sold line through ``source_line_item_uid`` and at the sale through ``source_order_id``) and
whose ``refunds[]`` hold the money given back. An exchange has both ``line_items`` and
``returns``. Amounts are integer minor units (see ``money``); quantities are decimal strings.

Lines without a catalog item (Square's ad-hoc "custom amount" lines) move no stock and have
no SKU: they are left out of the lines, their money stays in the total.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
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
from connectors.square.money import to_money

STATUS = {
    "COMPLETED": SaleStatus.COMPLETED,
    "CANCELED": SaleStatus.CANCELLED,
    "CANCELLED": SaleStatus.CANCELLED,
}
"""Order ``state`` -> sale status; ``OPEN`` and ``DRAFT`` are not finished: ``other``."""

TENDER_KINDS = {
    "CARD": "card",
    "CASH": "cash",
    "THIRD_PARTY_CARD": "card",
    "SQUARE_GIFT_CARD": "gift_card",
    "NO_SALE": "no_sale",
    "BANK_ACCOUNT": "bank_account",
    "WALLET": "wallet",
    "BUY_NOW_PAY_LATER": "buy_now_pay_later",
    "SQUARE_ACCOUNT": "square_account",
    "OTHER": "other",
}
"""Square ``TenderType`` -> Brique's tender kinds (the mapping's ``tenders`` may refine)."""

DEAD_CARD_STATUSES = frozenset({"VOIDED", "FAILED"})
"""Card tenders in these states took no money."""
DEAD_REFUND_STATUSES = frozenset({"REJECTED", "FAILED"})

RETURN_LINE_PREFIX = "return:"
"""Return lines are numbered ``return:<uid>`` so they never collide with sold lines."""

SkuOf = Callable[[str], str]
"""Catalog object id (an ITEM_VARIATION) -> the SKU to put on the line."""

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: Any) -> datetime | None:
    """RFC 3339 as Square writes it (``Z``, up to nanoseconds); None if absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def event_key(order: Mapping[str, Any]) -> str:
    """The inbox key of one order as read: ``<order id>@v<version>``.

    Orders rung up in Square Point of Sale (not through the API) carry no ``version``; their
    ``updated_at`` marks the revision instead.
    """
    order_id = _required(order, "id", "order")
    version = order.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        return f"{order_id}@v{version}"
    updated = order.get("updated_at") or order.get("closed_at") or order.get("created_at")
    if not updated:
        raise DataError(f"order {order_id} has neither version nor updated_at")
    return f"{order_id}@{updated}"


def decode_order(order: Mapping[str, Any], sku_of: SkuOf) -> SaleBody:
    """One Square order -> one canonical store sale with exact Decimal money."""
    order_id = str(_required(order, "id", "order"))
    where = f"order {order_id}"
    location = str(_required(order, "location_id", where))
    currency = _currency(order)
    if currency is None:
        raise DataError(f"{where}: no money object tells its currency")
    try:
        lines = [
            line
            for n, raw in enumerate(_list(order, "line_items"), start=1)
            if (line := _sale_line(raw, n, sku_of, where)) is not None
        ]
        links: list[str] = []
        for returned in _list(order, "returns"):
            source = returned.get("source_order_id") or None
            if source and source not in links:
                links.append(str(source))
            for n, raw in enumerate(_list(returned, "return_line_items"), start=1):
                line = _return_line(raw, n, source, sku_of, where)
                if line is not None:
                    lines.append(line)
        tenders = _tenders(order, where)
        customer_id = order.get("customer_id")
        sale = Sale(
            key=TicketKey(store=location, transaction_id=order_id),
            status=STATUS.get(str(order.get("state") or "").upper(), SaleStatus.OTHER),
            occurred_at=parse_timestamp(
                order.get("closed_at") or order.get("updated_at") or order.get("created_at")
            ),
            currency=currency,
            lines=tuple(lines),
            tenders=tuple(tenders),
            total=_total(order, where),
            customer=CustomerRef(channel_ids={"square": str(customer_id)}) if customer_id else None,
            channel="store",
            link=TicketLink(transaction_id=links[0]) if len(links) == 1 else None,
        )
    except ValidationError as exc:
        raise DataError(f"{where}: {exc}") from exc
    return SaleBody(sale=sale)


def _sale_line(raw: Mapping[str, Any], position: int, sku_of: SkuOf, where: str) -> SaleLine | None:
    uid = str(raw.get("uid") or position)
    catalog_id = raw.get("catalog_object_id")
    if not catalog_id:
        return None  # a custom amount: no item, no stock
    label = f"{where} line {uid}"
    quantity = _quantity(raw.get("quantity"), label)
    return SaleLine(
        line_no=uid,
        sku=sku_of(str(catalog_id)),
        quantity=quantity,
        unit_price=to_money(raw.get("base_price_money"), f"{label} base_price_money"),
        amount=to_money(raw.get("total_money"), f"{label} total_money"),
        discount=_nonzero(to_money(raw.get("total_discount_money"), f"{label} discount")),
        description=_description(raw),
        unit=_unit(raw),
    )


def _return_line(
    raw: Mapping[str, Any],
    position: int,
    source_order: str | None,
    sku_of: SkuOf,
    where: str,
) -> SaleLine | None:
    uid = str(raw.get("uid") or position)
    catalog_id = raw.get("catalog_object_id")
    if not catalog_id:
        return None  # a custom-amount refund: money only
    label = f"{where} return line {uid}"
    quantity = _quantity(raw.get("quantity"), label)
    source_line = raw.get("source_line_item_uid") or None
    link = None
    if source_order or source_line:
        link = TicketLink(transaction_id=source_order, line=source_line)
    return SaleLine(
        line_no=RETURN_LINE_PREFIX + uid,
        sku=sku_of(str(catalog_id)),
        quantity=quantity.copy_abs().copy_negate() if quantity else quantity,
        unit_price=to_money(raw.get("base_price_money"), f"{label} base_price_money"),
        amount=to_money(raw.get("total_money"), f"{label} total_money", negate=True),
        discount=_nonzero(to_money(raw.get("total_discount_money"), f"{label} discount")),
        description=_description(raw),
        unit=_unit(raw),
        is_return=True,
        link=link,
    )


def _tenders(order: Mapping[str, Any], where: str) -> list[Tender]:
    tenders: list[Tender] = []
    kinds: dict[str, str] = {}
    for raw in _list(order, "tenders"):
        native = str(raw.get("type") or "OTHER").upper()
        kind = TENDER_KINDS.get(native, native.lower())
        if raw.get("id"):
            kinds[str(raw["id"])] = kind
        card = raw.get("card_details")
        if isinstance(card, Mapping) and str(card.get("status") or "") in DEAD_CARD_STATUSES:
            continue
        amount = to_money(raw.get("amount_money"), f"{where} tender {raw.get('id') or '?'}")
        if amount is not None:
            tenders.append(Tender(kind=kind, amount=amount))
    for raw in _list(order, "refunds"):
        if str(raw.get("status") or "") in DEAD_REFUND_STATUSES:
            continue
        amount = to_money(raw.get("amount_money"), f"{where} refund {raw.get('id') or '?'}")
        if amount is not None:
            # A return order's refunds point at tenders of the *original* sale, which this
            # order does not hold: their kind is then unknown here.
            kind = kinds.get(str(raw.get("tender_id") or ""), "unknown")
            tenders.append(Tender(kind=kind, amount=amount, refund=True))
    return tenders


def _total(order: Mapping[str, Any], where: str) -> Money | None:
    """What the ticket came to: sales less returns (a pure return is negative)."""
    total = to_money(order.get("total_money"), f"{where} total_money")
    amounts = order.get("return_amounts")
    returned = None
    if isinstance(amounts, Mapping):
        returned = to_money(amounts.get("total_money"), f"{where} return_amounts.total_money")
    if returned is None:
        return total
    if total is None:
        return Money(amount=-returned.amount, currency=returned.currency)
    return total - returned


def _currency(order: Mapping[str, Any]) -> str | None:
    for field in ("total_money", "net_amounts", "return_amounts"):
        value = order.get(field)
        if isinstance(value, Mapping):
            if isinstance(value.get("currency"), str):
                return value["currency"]
            inner = value.get("total_money")
            if isinstance(inner, Mapping) and isinstance(inner.get("currency"), str):
                return inner["currency"]
    for raw in _list(order, "line_items"):
        money = raw.get("base_price_money") or raw.get("total_money")
        if isinstance(money, Mapping) and isinstance(money.get("currency"), str):
            return money["currency"]
    return None


def _quantity(value: Any, label: str) -> Decimal:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise DataError(f"{label}: quantity {value!r} is not a decimal string")
    try:
        quantity = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise DataError(f"{label}: quantity {value!r} is not a number") from exc
    if not quantity.is_finite():
        raise DataError(f"{label}: quantity {value!r} is not a number")
    return quantity


def _description(raw: Mapping[str, Any]) -> str:
    name = str(raw.get("name") or "").strip()
    variation = str(raw.get("variation_name") or "").strip()
    if name and variation and variation.lower() != "regular":
        return f"{name} - {variation}"
    return name or variation


def _unit(raw: Mapping[str, Any]) -> str | None:
    """A weighed or measured line's unit (e.g. ``METRIC_KILOGRAM``); None for items counted."""
    unit = raw.get("quantity_unit")
    measurement = unit.get("measurement_unit") if isinstance(unit, Mapping) else None
    if not isinstance(measurement, Mapping):
        return None
    for key, value in measurement.items():
        if key.endswith("_unit") and isinstance(value, str) and value:
            return value
        if key == "custom_unit" and isinstance(value, Mapping) and value.get("name"):
            return str(value["name"])
    return None


def _nonzero(money: Money | None) -> Money | None:
    return money if money is not None and money.amount != 0 else None


def _list(container: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    value = container.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(f"{field} is not a list")
    return [item for item in value if isinstance(item, Mapping)]


def _required(container: Mapping[str, Any], field: str, where: str) -> Any:
    value = container.get(field)
    if value is None or value == "":
        raise DataError(f"{where} has no {field!r}")
    return value
