"""Shopify carts and checkouts (``carts/*``, ``checkouts/*`` webhooks) as canonical baskets.

The Admin API cannot read live carts: these webhooks are the only way to see them. A cart is
keyed by its ``token``, a checkout by its own ``token`` (it names its cart in ``cart_token``).
Brique's handoff code comes from the ``brique_code`` attribute when the payload carries it
(checkouts copy cart attributes into ``note_attributes``; the cart webhook leaves them out),
else from the binding the ``baskets`` sink wrote when it created the cart.

A cart webhook has no currency field; the currency is read from the lines' ``price_set`` when
present, else it is the shop's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import Basket, BasketBody, BasketLine, BasketStatus, Money
from connectors.shopify.payloads import (
    CHANNEL,
    customer_ref,
    decimal,
    handoff_code,
    optional_decimal,
    parse_timestamp,
    text_id,
)

CodeForToken = Callable[[str], str | None]
"""Cart token -> the handoff code Brique gave that cart, if Brique created it."""


def decode_cart(
    payload: Mapping[str, Any],
    shop_currency: Callable[[], str | None],
    code_for_token: CodeForToken,
) -> list[BasketBody]:
    """``carts/create`` / ``carts/update`` -> an active web basket keyed by the cart token."""
    token = text_id(payload.get("token")) or text_id(payload.get("id"))
    if token is None:
        raise DataError("cart without token")
    what = f"cart {token}"
    currency = _currency(payload, shop_currency, what)
    return [
        _body(
            what,
            basket_id=token,
            status=BasketStatus.ACTIVE,
            currency=currency,
            lines=_lines(payload, currency, what),
            customer=customer_ref(payload),
            created_at=parse_timestamp(payload.get("created_at")),
            updated_at=parse_timestamp(payload.get("updated_at")),
            code=handoff_code(payload) or code_for_token(token),
        )
    ]


def decode_checkout(
    payload: Mapping[str, Any],
    shop_currency: Callable[[], str | None],
    code_for_token: CodeForToken,
) -> list[BasketBody]:
    """``checkouts/create`` / ``checkouts/update`` -> a web basket keyed by the checkout token.

    Converted once the checkout is completed (``completed_at``) or names its order; the
    resume link is Shopify's ``abandoned_checkout_url``."""
    token = text_id(payload.get("token")) or text_id(payload.get("id"))
    if token is None:
        raise DataError("checkout without token")
    what = f"checkout {token}"
    currency = _currency(payload, shop_currency, what)
    order = _order_reference(payload)
    converted = bool(payload.get("completed_at")) or order is not None
    cart_token = text_id(payload.get("cart_token"))
    return [
        _body(
            what,
            basket_id=token,
            status=BasketStatus.CONVERTED if converted else BasketStatus.ACTIVE,
            currency=currency,
            lines=_lines(payload, currency, what),
            customer=customer_ref(payload),
            created_at=parse_timestamp(payload.get("created_at")),
            updated_at=parse_timestamp(payload.get("updated_at")),
            url=payload.get("abandoned_checkout_url") or None,
            order_reference=order,
            code=handoff_code(payload) or (code_for_token(cart_token) if cart_token else None),
        )
    ]


def _body(what: str, **fields: Any) -> BasketBody:
    try:
        return BasketBody(basket=Basket(channel=CHANNEL, **fields))
    except ValidationError as exc:
        raise DataError(f"{what}: {exc}") from exc


def _order_reference(payload: Mapping[str, Any]) -> str | None:
    order = payload.get("order")
    nested = order.get("id") if isinstance(order, Mapping) else None
    return text_id(payload.get("order_id")) or text_id(nested)


def _currency(
    payload: Mapping[str, Any], shop_currency: Callable[[], str | None], what: str
) -> str:
    """The buyer's currency: the payload's own, else its lines' ``price_set``, else the shop's."""
    for field in ("presentment_currency", "currency"):
        code = payload.get(field)
        if isinstance(code, str) and code:
            return code
    for raw in payload.get("line_items") or ():
        bag = raw.get("price_set") if isinstance(raw, Mapping) else None
        side = bag.get("presentment_money") if isinstance(bag, Mapping) else None
        code = side.get("currency_code") if isinstance(side, Mapping) else None
        if isinstance(code, str) and code:
            return code
    found = shop_currency()
    if not found:
        raise DataError(f"{what}: no currency in the payload and none known for the shop")
    return found


def _lines(payload: Mapping[str, Any], currency: str, what: str) -> tuple[BasketLine, ...]:
    lines = []
    for position, raw in enumerate(payload.get("line_items") or (), start=1):
        if not isinstance(raw, Mapping):
            raise DataError(f"{what}: line {position} is not an object")
        line = str(raw.get("key") or raw.get("id") or position)
        sku = raw.get("sku")
        if sku is None or str(sku).strip() == "":
            raise DataError(
                f"{what}: line {line} ({raw.get('title') or '?'}) has no SKU; "
                "give the variant a SKU in Shopify"
            )
        lines.append(
            BasketLine(
                sku=str(sku),
                quantity=decimal(raw.get("quantity"), f"{what} line {line} quantity"),
                unit_price=_unit_price(raw, currency, f"{what} line {line}"),
            )
        )
    return tuple(lines)


def _unit_price(raw: Mapping[str, Any], currency: str, what: str) -> Money | None:
    """The unit price in the basket's currency: ``price_set`` when it has that side, else
    ``price``."""
    bag = raw.get("price_set")
    if isinstance(bag, Mapping):
        for side in ("presentment_money", "shop_money"):
            value = bag.get(side)
            if isinstance(value, Mapping) and value.get("currency_code") == currency:
                amount = optional_decimal(value.get("amount"), f"{what} price")
                if amount is not None:
                    return Money(amount=amount, currency=currency)
    amount = optional_decimal(raw.get("price"), f"{what} price")
    return None if amount is None else Money(amount=amount, currency=currency)
