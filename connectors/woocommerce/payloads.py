"""WooCommerce REST v3 payloads to canonical bodies: pure functions, no network, no state.

Webhook bodies are the REST resource as ``GET /wc/v3/<resource>s/<id>`` returns it, built at
delivery time (WooCommerce ``WC_Webhook::build_payload``), so one decoder serves webhooks and
the polled ``orders`` stream. Money comes as strings with the store's decimals ("21.99"),
except ``line_items[].price``, which is a JSON number: it is read through its shortest text
form, never as a binary float. Dates come twice: ``date_*`` in the site's time zone and
``date_*_gmt`` in UTC, both without an offset; the ``_gmt`` ones are used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
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
    Tender,
    TicketKey,
)

ORDER = "order"
PRODUCT = "product"
ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})
PRODUCT_TOPICS = frozenset({"product.created", "product.updated", "product.restored"})

ITEM_ENTITY = "woocommerce_item"
"""Binding entity: internal id = SKU, external id = ``<product id>`` for a simple product or
``<parent id>/<variation id>`` for a variation (unique both ways, as bindings must be)."""

STATUSES: dict[str, SaleStatus] = {
    "processing": SaleStatus.COMPLETED,
    "completed": SaleStatus.COMPLETED,
    "cancelled": SaleStatus.CANCELLED,
    "refunded": SaleStatus.CANCELLED,
    "trash": SaleStatus.CANCELLED,
}
"""WooCommerce order status -> Brique's. Paid orders (``processing``, ``completed``) are sales;
``cancelled`` and fully ``refunded`` ones are cancelled; ``pending``, ``on-hold``, ``failed``,
``checkout-draft`` and plugin statuses are ``other`` (nothing sold yet, no stock moves)."""

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Any, zone: tzinfo = UTC) -> datetime | None:
    """``2017-03-22T19:28:08`` (no offset: ``zone`` applies) or with ``Z``/offset; None if
    absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def moment(payload: Mapping[str, Any], field: str, site_zone: tzinfo) -> datetime | None:
    """``<field>_gmt`` in UTC, else ``<field>`` read in the site's time zone."""
    found = parse_time(payload.get(f"{field}_gmt"), UTC)
    return found if found is not None else parse_time(payload.get(field), site_zone)


def gmt_text(value: datetime) -> str:
    """The ``YYYY-MM-DDTHH:MM:SS`` form WooCommerce prints its ``_gmt`` dates in."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def decimal(value: Any, what: str) -> Decimal:
    """An exact Decimal from a JSON string or number; a float goes through its shortest text
    (``12.5`` -> ``Decimal('12.5')``), which is what WooCommerce printed."""
    if value is None or isinstance(value, bool) or value == "":
        raise DataError(f"{what} is missing")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise DataError(f"{what} {value!r} is not a number") from None


def optional_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def platform_id(value: Any) -> str | None:
    """A WooCommerce integer id as text; None for 0, missing or malformed."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if value is not None else ""
    return text if text.isdigit() and int(text) > 0 else None


def held_stock(node: Mapping[str, Any]) -> Decimal | None:
    """The quantity a product or variation manages itself; None when WooCommerce does not
    count it (``manage_stock`` false) or counts it on the parent (``"parent"``)."""
    if node.get("manage_stock") is not True:
        return None
    return optional_decimal(node.get("stock_quantity"))


def order_key(payload: Mapping[str, Any]) -> str | None:
    """``order/<id>@<date_modified_gmt>``: one key per version of an order, the same whether
    the version arrives by webhook or by the ``orders`` stream."""
    order_id = platform_id(payload.get("id"))
    modified = payload.get("date_modified_gmt") or payload.get("date_modified")
    if order_id is None or not isinstance(modified, str) or not modified.strip():
        return None
    return f"order/{order_id}@{modified.strip()}"


# -- orders -------------------------------------------------------------------------------


def decode_order(
    payload: Mapping[str, Any],
    store: str,
    site_zone: tzinfo = UTC,
    sku_for: Callable[[str | None, str | None], str | None] | None = None,
) -> list[SaleBody]:
    """An order (REST v3 shape) -> one web sale, keyed by the order id on this shop.

    Line amounts are WooCommerce's: ``price`` (unit, before discounts), ``total`` (the line
    after discounts) and ``subtotal - total`` as the discount, all excluding tax as WooCommerce
    reports them. Refunds (``refunds[]``) become refund tenders; a fully refunded order is
    cancelled. ``sku_for(product_id, variation_id)`` names the SKU of a line that has none
    (a product whose SKU was removed since), from the bindings.
    """
    order_id = platform_id(payload.get("id"))
    if order_id is None:
        raise DataError("order payload has no 'id'")
    currency = payload.get("currency")
    if not isinstance(currency, str) or not currency.strip():
        raise DataError(f"order {order_id} has no currency")
    status_text = str(payload.get("status") or "").strip()
    status = STATUSES.get(status_text, SaleStatus.OTHER)
    try:
        lines = tuple(
            _line(order_id, raw, currency, position, sku_for)
            for position, raw in enumerate(payload.get("line_items") or (), start=1)
        )
        total = optional_decimal(payload.get("total"))
        sale = Sale(
            key=TicketKey(store=store, transaction_id=order_id),
            status=status,
            occurred_at=moment(payload, "date_created", site_zone),
            currency=currency,
            lines=lines,
            tenders=_tenders(payload, currency, total, status),
            total=Money(amount=total, currency=currency) if total is not None else None,
            customer=_customer(payload),
            channel="web",
        )
    except ValidationError as exc:
        raise DataError(f"order {order_id}: {exc}") from None
    return [SaleBody(sale=sale)]


def _line(
    order_id: str,
    raw: Any,
    currency: str,
    position: int,
    sku_for: Callable[[str | None, str | None], str | None] | None,
) -> SaleLine:
    if not isinstance(raw, Mapping):
        raise DataError(f"order {order_id}: line {position} is not an object")
    line_no = platform_id(raw.get("id")) or str(position)
    sku = str(raw.get("sku") or "").strip()
    if not sku and sku_for is not None:
        sku = sku_for(platform_id(raw.get("product_id")), platform_id(raw.get("variation_id")))
        sku = sku or ""
    if not sku:
        raise DataError(
            f"order {order_id}: line {line_no} ({raw.get('name') or '?'}) has no SKU; "
            "give the product a SKU in WooCommerce",
        )
    what = f"order {order_id} line {line_no}"
    quantity = decimal(raw.get("quantity"), f"{what} quantity")
    price = optional_decimal(raw.get("price"))
    line_total = optional_decimal(raw.get("total"))
    subtotal = optional_decimal(raw.get("subtotal"))
    discount = None
    if subtotal is not None and line_total is not None and subtotal > line_total:
        discount = Money(amount=subtotal - line_total, currency=currency)
    return SaleLine(
        line_no=line_no,
        sku=sku,
        quantity=quantity,
        unit_price=Money(amount=price, currency=currency) if price is not None else None,
        amount=Money(amount=line_total, currency=currency) if line_total is not None else None,
        discount=discount,
        description=str(raw.get("name") or ""),
    )


def _tenders(
    payload: Mapping[str, Any], currency: str, total: Decimal | None, status: SaleStatus
) -> tuple[Tender, ...]:
    kind = str(payload.get("payment_method") or "").strip() or "web"
    tenders: list[Tender] = []
    paid = bool(payload.get("date_paid_gmt") or payload.get("date_paid"))
    if total is not None and total > 0 and (paid or status is SaleStatus.COMPLETED):
        tenders.append(Tender(kind=kind, amount=Money(amount=total, currency=currency)))
    for refund in payload.get("refunds") or ():
        amount = optional_decimal(refund.get("total")) if isinstance(refund, Mapping) else None
        if amount:
            tenders.append(
                Tender(kind=kind, amount=Money(amount=abs(amount), currency=currency), refund=True)
            )
    return tuple(tenders)


def _customer(payload: Mapping[str, Any]) -> CustomerRef | None:
    billing = payload.get("billing")
    billing = billing if isinstance(billing, Mapping) else {}
    email = str(billing.get("email") or "").strip() or None
    phone = str(billing.get("phone") or "").strip() or None
    name = " ".join(
        str(part).strip() for part in (billing.get("first_name"), billing.get("last_name")) if part
    ).strip()
    customer_id = platform_id(payload.get("customer_id"))
    channel_ids = {"woocommerce": customer_id} if customer_id else {}
    if not (email or phone or name or channel_ids):
        return None
    return CustomerRef(
        customer_id=customer_id,
        email=email,
        phone=phone,
        name=name or None,
        channel_ids=channel_ids,
    )


# -- products -----------------------------------------------------------------------------


def decode_stock_level(
    payload: Mapping[str, Any],
    location: str,
    sku_for: Callable[[str], str | None] | None = None,
) -> list[StockLevelBody]:
    """A product or variation that manages its stock -> its level at the shop's one location.

    The SKU is the payload's, else the one bound to its id (``<id>`` or ``<parent>/<id>``).
    """
    product_id = platform_id(payload.get("id"))
    if product_id is None:
        raise DataError("product payload has no 'id'")
    held = held_stock(payload)
    if held is None:
        raise DataError(f"product {product_id} does not manage its stock quantity")
    sku = str(payload.get("sku") or "").strip()
    if not sku and sku_for is not None:
        parent = platform_id(payload.get("parent_id"))
        external = (
            f"{parent}/{product_id}" if payload.get("type") == "variation" and parent else None
        )
        sku = sku_for(external or product_id) or ""
    if not sku:
        raise DataError(f"product {product_id} has no SKU and is not bound to one")
    try:
        level = StockLevel(sku=sku, location=location, on_hand=held)
    except ValidationError as exc:
        raise DataError(f"product {product_id}: {exc}") from None
    return [StockLevelBody(level=level)]
