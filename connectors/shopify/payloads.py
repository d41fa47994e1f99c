"""Shopify webhook payloads to canonical bodies: pure functions, no network, no state.

Webhook bodies follow the REST resource shapes (numeric ids, prices as strings); the GraphQL
side of the connector speaks in GIDs, so ids are turned into GIDs here.
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
    StockLevel,
    StockLevelBody,
    TicketKey,
)

INVENTORY_LEVELS_UPDATE = "inventory_levels/update"
ORDERS_CREATE = "orders/create"
HANDLED_TOPICS = frozenset({INVENTORY_LEVELS_UPDATE, ORDERS_CREATE})

INVENTORY_ITEM_ENTITY = "inventory_item"
"""Binding entity: internal id = SKU, external id = InventoryItem GID."""
PRODUCT_VARIANT_ENTITY = "product_variant"
"""Binding entity: internal id = SKU, external id = ``<Product GID>|<ProductVariant GID>``.

The pair, not the Product GID alone: bindings are unique both ways, and the variants of one
product share its GID. The variant part keeps the pair unique."""


def gid(kind: str, value: Any) -> str:
    """``gid://shopify/<Kind>/<id>`` from a REST numeric id (or a GID, returned as is)."""
    text = str(value).strip()
    if text.startswith("gid://"):
        return text
    if not text.isdigit():
        raise DataError(f"{kind} id {value!r} is not a Shopify id")
    return f"gid://shopify/{kind}/{text}"


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 as Shopify sends it (``Z`` suffix, sometimes nanoseconds); None if absent."""
    if not value or not isinstance(value, str):
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def decimal(value: Any, what: str) -> Decimal:
    """An exact Decimal from a JSON string or number (floats go through ``str``)."""
    if value is None or isinstance(value, bool):
        raise DataError(f"{what} is missing")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise DataError(f"{what} {value!r} is not a number") from exc


def decode_inventory_level(
    payload: Mapping[str, Any], sku_for: Callable[[str], str | None]
) -> list[StockLevelBody]:
    """``inventory_levels/update`` -> one stock level, its SKU found through the bindings."""
    item = gid("InventoryItem", _required(payload, "inventory_item_id"))
    location = gid("Location", _required(payload, "location_id"))
    available = payload.get("available")
    if available is None:
        raise DataError(f"inventory level of {item} at {location} has no 'available' quantity")
    sku = sku_for(item)
    if not sku:
        raise DataError(
            f"inventory item {item} is not bound to a SKU yet (write or read its stock first)"
        )
    try:
        level = StockLevel(
            sku=sku, location=location, on_hand=decimal(available, "available quantity")
        )
    except ValidationError as exc:
        raise DataError(f"inventory level of {item}: {exc}") from exc
    return [StockLevelBody(level=level)]


def decode_order(payload: Mapping[str, Any], store: str) -> list[SaleBody]:
    """``orders/create`` (REST order shape) -> a completed web sale with Decimal prices."""
    order_id = str(_required(payload, "id"))
    currency = payload.get("currency") or payload.get("presentment_currency")
    if not currency:
        raise DataError(f"order {order_id} has no currency")
    status = SaleStatus.COMPLETED
    if payload.get("cancelled_at"):
        status = SaleStatus.CANCELLED
    elif payload.get("test") is True:
        status = SaleStatus.TRAINING
    try:
        lines = tuple(
            _line(order_id, raw, currency, position)
            for position, raw in enumerate(payload.get("line_items") or (), start=1)
        )
        total = payload.get("total_price")
        sale = Sale(
            key=TicketKey(store=store, transaction_id=order_id),
            status=status,
            occurred_at=parse_timestamp(payload.get("created_at")),
            currency=currency,
            lines=lines,
            total=Money(amount=decimal(total, "total_price"), currency=currency)
            if total is not None
            else None,
            customer=_customer(payload),
            channel="web",
        )
    except ValidationError as exc:
        raise DataError(f"order {order_id}: {exc}") from exc
    return [SaleBody(sale=sale)]


def _line(order_id: str, raw: Any, currency: str, position: int) -> SaleLine:
    if not isinstance(raw, Mapping):
        raise DataError(f"order {order_id}: line {position} is not an object")
    line_no = str(raw.get("id") or position)
    sku = raw.get("sku")
    if sku is None or str(sku).strip() == "":
        raise DataError(
            f"order {order_id}: line {line_no} ({raw.get('title') or raw.get('name') or '?'}) "
            "has no SKU; give the variant a SKU in Shopify"
        )
    price = raw.get("price")
    discount = decimal(raw.get("total_discount") or "0", f"line {line_no} total_discount")
    return SaleLine(
        line_no=line_no,
        sku=str(sku),
        quantity=decimal(raw.get("quantity"), f"line {line_no} quantity"),
        unit_price=Money(amount=decimal(price, f"line {line_no} price"), currency=currency)
        if price is not None
        else None,
        discount=Money(amount=discount, currency=currency) if discount else None,
        description=str(raw.get("name") or raw.get("title") or ""),
    )


def _customer(payload: Mapping[str, Any]) -> CustomerRef | None:
    customer = payload.get("customer")
    customer = customer if isinstance(customer, Mapping) else {}
    email = customer.get("email") or payload.get("email") or None
    phone = customer.get("phone") or payload.get("phone") or None
    name = " ".join(
        str(part) for part in (customer.get("first_name"), customer.get("last_name")) if part
    )
    channel_ids = {"shopify": str(customer["id"])} if customer.get("id") else {}
    if not (email or phone or name or channel_ids):
        return None
    return CustomerRef(email=email, phone=phone, name=name or None, channel_ids=channel_ids)


def _required(payload: Mapping[str, Any], field: str) -> Any:
    value = payload.get(field)
    if value is None or value == "":
        raise DataError(f"payload has no {field!r}")
    return value
