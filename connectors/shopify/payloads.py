"""Shopify webhook payloads: topics, ids and the small readers every decoder shares.

Webhook bodies follow the REST resource shapes (numeric ids, prices as strings); the GraphQL
side of the connector speaks in GIDs, so ids are turned into GIDs here. Orders, refunds and
carts have their own modules (``orders``, ``refunds``, ``carts``); these are pure functions,
no network, no state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import CustomerRef, Money, StockLevel, StockLevelBody

INVENTORY_LEVELS_UPDATE = "inventory_levels/update"
ORDERS_CREATE = "orders/create"
ORDERS_UPDATED = "orders/updated"
ORDERS_CANCELLED = "orders/cancelled"
ORDER_TOPICS = frozenset({ORDERS_CREATE, ORDERS_UPDATED, ORDERS_CANCELLED})
"""Topics whose body is a whole order (the REST Order shape)."""
REFUNDS_CREATE = "refunds/create"
CARTS_CREATE = "carts/create"
CARTS_UPDATE = "carts/update"
CART_TOPICS = frozenset({CARTS_CREATE, CARTS_UPDATE})
CHECKOUTS_CREATE = "checkouts/create"
CHECKOUTS_UPDATE = "checkouts/update"
CHECKOUT_TOPICS = frozenset({CHECKOUTS_CREATE, CHECKOUTS_UPDATE})
HANDLED_TOPICS = frozenset(
    {INVENTORY_LEVELS_UPDATE, REFUNDS_CREATE} | ORDER_TOPICS | CART_TOPICS | CHECKOUT_TOPICS
)

INVENTORY_ITEM_ENTITY = "inventory_item"
"""Binding entity: internal id = SKU, external id = InventoryItem GID."""
PRODUCT_VARIANT_ENTITY = "product_variant"
"""Binding entity: internal id = SKU, external id = ``<Product GID>|<ProductVariant GID>``.

The pair, not the Product GID alone: bindings are unique both ways, and the variants of one
product share its GID. The variant part keeps the pair unique."""

CODE_ATTRIBUTE = "brique_code"
"""The cart attribute carrying Brique's handoff code. Shopify copies cart attributes to the
checkout and the order (``note_attributes``), so the order names the basket it completes."""
CHANNEL = "web"
CHANNEL_KEY = "shopify"
"""The key of Shopify's customer id in ``CustomerRef.channel_ids``."""


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
    item = gid("InventoryItem", required(payload, "inventory_item_id"))
    location = gid("Location", required(payload, "location_id"))
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


def optional_decimal(value: Any, what: str) -> Decimal | None:
    """A Decimal, or None when the field is absent or empty."""
    if value is None or value == "":
        return None
    return decimal(value, what)


def money(value: Any, currency: str, what: str) -> Money | None:
    """``Money`` from a Shopify amount string, or None when the field is absent."""
    amount = optional_decimal(value, what)
    return None if amount is None else Money(amount=amount, currency=currency)


def set_currency(field: Any, side: str = "shop_money") -> str | None:
    """The currency of a ``*_set`` money bag (``{"shop_money": {"amount", "currency_code"}}``)."""
    if not isinstance(field, Mapping):
        return None
    bag = field.get(side)
    code = bag.get("currency_code") if isinstance(bag, Mapping) else None
    return code if isinstance(code, str) and code else None


def attributes(payload: Mapping[str, Any]) -> dict[str, str]:
    """Custom attributes, whichever way the resource carries them.

    Orders and checkouts have ``note_attributes: [{name, value}]``; the cart resource
    ``attributes`` as an object (or, in some versions, a list of ``{key, value}``)."""
    found: dict[str, str] = {}
    for field in ("attributes", "note_attributes"):
        raw = payload.get(field)
        if isinstance(raw, Mapping):
            items: Iterable[tuple[Any, Any]] = raw.items()
        elif isinstance(raw, list):
            items = (
                (entry.get("name", entry.get("key")), entry.get("value"))
                for entry in raw
                if isinstance(entry, Mapping)
            )
        else:
            continue
        for name, value in items:
            if isinstance(name, str) and value is not None:
                found.setdefault(name, str(value))
    return found


def handoff_code(payload: Mapping[str, Any]) -> str | None:
    """Brique's handoff code when the resource carries it as an attribute."""
    code = attributes(payload).get(CODE_ATTRIBUTE, "").strip()
    return code or None


def customer_ref(payload: Mapping[str, Any]) -> CustomerRef | None:
    """The identity keys an order or checkout carries: email, phone, name, Shopify's id."""
    customer = payload.get("customer")
    customer = customer if isinstance(customer, Mapping) else {}
    email = customer.get("email") or payload.get("email") or payload.get("contact_email") or None
    phone = customer.get("phone") or payload.get("phone") or None
    name = " ".join(
        str(part) for part in (customer.get("first_name"), customer.get("last_name")) if part
    )
    channel_ids = {CHANNEL_KEY: str(customer["id"])} if customer.get("id") else {}
    if not (email or phone or name or channel_ids):
        return None
    return CustomerRef(email=email, phone=phone, name=name or None, channel_ids=channel_ids)


def text_id(value: Any) -> str | None:
    """A REST id as text (``820982911946154508``), None when absent."""
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        return None
    return str(value).strip()


def rest_id(value: Any) -> str:
    """A REST id as text; a GID (``gid://shopify/Order/450789469``) gives its number, so an
    order or refund read through GraphQL keys like its webhook."""
    text = str(value).strip()
    if text.startswith("gid://"):
        return text.rsplit("/", 1)[-1].split("?", 1)[0]
    return text


def required(payload: Mapping[str, Any], field: str) -> Any:
    """A field's value; ``DataError`` naming it when absent or empty."""
    value = payload.get(field)
    if value is None or value == "":
        raise DataError(f"payload has no {field!r}")
    return value


def __getattr__(name: str) -> Any:
    """``decode_order`` moved to ``orders``; older imports from here still find it."""
    if name == "decode_order":
        from connectors.shopify.orders import decode_order

        return decode_order
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
