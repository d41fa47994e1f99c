"""The ``baskets`` sink: a handed-off basket becomes a Storefront cart with a checkout link.

Opening sends ``cartCreate`` (Storefront API, its own token and endpoint) with the lines
(``merchandiseId`` = the variant GID of each SKU, found through the variant bindings), the
buyer's email and phone, the ``brique_code`` attribute and the note; the answer is the cart
id and its ``checkoutUrl``. Shopify copies cart attributes to the checkout and the order, so
the order that completes the cart names the basket.

Idempotent: Storefront carts cannot be searched, so the cart id is bound to the code as soon
as it is created; opening again (a retried batch, a lost answer after the binding was
written) reads that cart with ``cart(id:)`` and returns it instead of creating another.

Storefront carts cannot be deleted or closed. Closing (the basket was bought elsewhere)
records it on the cart instead: ``cartAttributesUpdate`` adds ``brique_status=converted``,
keeping the other attributes (the mutation replaces the whole set). A cart Shopify no longer
returns (expired, or turned into an order) is already closed.

Shopify prices the cart itself (its markets and price lists); Brique's unit prices are not
sent, since the Storefront API has no way to set them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from bridge.connector import BasketWrite, BindingLookup, WriteBatch, WriteResult
from bridge.errors import ConfigError, DataError
from bridge.model.base import Record
from connectors.shopify.graphql import AdminGraphQL
from connectors.shopify.payloads import CODE_ATTRIBUTE

log = logging.getLogger(__name__)

MAX_BASKET_BATCH = 25
"""Baskets per batch: one cartCreate each (Storefront has no bulk cart mutation)."""
STATUS_ATTRIBUTE = "brique_status"
CONVERTED = "converted"
STOREFRONT_CART_ENTITY = "storefront_cart"
"""Binding entity: internal id = handoff code, external id = the Cart GID with its key."""
CART_TOKEN_ENTITY = "cart_token"  # noqa: S105 - a binding entity name
"""Binding entity: internal id = handoff code, external id = the cart token, which is what
``carts/*`` webhooks and orders (``cart_token``) name the cart by."""
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
"""Shopify refuses a buyer phone that is not E.164; a local number is left out, not sent."""
REQUEST_COST = 1.0
"""The Storefront API has no cost budget like the Admin API; one point keeps the shared
limiter honest without slowing a handoff."""

CART_FIELDS = "id checkoutUrl attributes { key value }"
CART_QUERY = f"query BriqueCart($id: ID!) {{ cart(id: $id) {{ {CART_FIELDS} }} }}"
CART_CREATE_MUTATION = f"""
mutation BriqueCartCreate($input: CartInput!) {{
  cartCreate(input: $input) {{
    cart {{ {CART_FIELDS} }}
    userErrors {{ code field message }}
  }}
}}
"""
CART_ATTRIBUTES_MUTATION = f"""
mutation BriqueCartAttributes($cartId: ID!, $attributes: [AttributeInput!]!) {{
  cartAttributesUpdate(cartId: $cartId, attributes: $attributes) {{
    cart {{ {CART_FIELDS} }}
    userErrors {{ code field message }}
  }}
}}
"""

VariantResolver = Callable[[Iterable[str]], tuple[dict[str, str], dict[str, str]]]
"""SKUs -> ({sku: ProductVariant GID}, {sku: why not found})."""


def cart_token(cart_id: str) -> str:
    """``gid://shopify/Cart/<token>?key=<key>`` -> ``<token>`` (the key is the cart's secret)."""
    return cart_id.rsplit("/", 1)[-1].split("?", 1)[0]


@dataclass
class StorefrontCarts:
    """Opens and closes handed-off baskets as Storefront carts."""

    client: AdminGraphQL | None
    """None when the connection has no ``storefront_token``."""
    bindings: BindingLookup
    variants: VariantResolver
    country: str | None = None

    def write(self, batch: WriteBatch) -> WriteResult:
        """Each item's result is keyed by its code; a refused item fails alone."""
        items = [_basket_write(raw, position) for position, raw in enumerate(batch.items)]
        result = WriteResult()
        if not items:
            return result
        if self.client is None:
            raise ConfigError(
                "shopify baskets need the Storefront API: set storefront_token (a Storefront "
                "access token of the shop's headless or custom app)"
            )
        wanted = {line.sku for item in items if item.action == "open" for line in item.lines}
        variants, unknown = self.variants(wanted) if wanted else ({}, {})
        for item in items:
            try:
                if item.action == "open":
                    result.observed[item.code] = self._open(item, variants, unknown)
                else:
                    result.observed[item.code] = self._close(item)
            except DataError as exc:
                result.observed.pop(item.code, None)
                result.failed[item.code] = str(exc)
                continue
            result.failed.pop(item.code, None)
            result.written += 1
        return result

    # -- open -------------------------------------------------------------------------------

    def _open(
        self, item: BasketWrite, variants: dict[str, str], unknown: dict[str, str]
    ) -> dict[str, Any]:
        existing = self._known_cart(item)
        if existing is not None:
            log.info("shopify basket %s: cart already open", item.code)
            return _opened(existing)
        payload = self._mutate(
            CART_CREATE_MUTATION,
            {"input": self._cart_input(item, variants, unknown)},
            "cartCreate",
            item.code,
        )
        cart = payload.get("cart")
        if not isinstance(cart, dict) or not cart.get("id"):
            raise DataError(f"shopify cartCreate for basket {item.code} answered without a cart")
        self.bindings.put(STOREFRONT_CART_ENTITY, item.code, cart["id"])
        self.bindings.put(CART_TOKEN_ENTITY, item.code, cart_token(cart["id"]))
        return _opened(cart)

    def _known_cart(self, item: BasketWrite) -> dict[str, Any] | None:
        """The cart opened before for this code (by ``external_id`` or the binding), if
        Shopify still has it."""
        for cart_id in self._cart_ids(item):
            cart = self._read(cart_id)
            if cart is None:
                continue
            code = _attributes(cart).get(CODE_ATTRIBUTE)
            if code is not None and code != item.code:
                raise DataError(f"shopify cart {cart_id} belongs to basket {code}, not {item.code}")
            return cart
        return None

    def _cart_input(
        self, item: BasketWrite, variants: dict[str, str], unknown: dict[str, str]
    ) -> dict[str, Any]:
        lines = []
        for line in item.lines:
            if line.sku not in variants:
                raise DataError(unknown.get(line.sku, f"SKU {line.sku!r} not found in Shopify"))
            lines.append({"merchandiseId": variants[line.sku], "quantity": _units(line.quantity)})
        data: dict[str, Any] = {
            "lines": lines,
            "attributes": [{"key": CODE_ATTRIBUTE, "value": item.code}],
        }
        if item.note:
            data["note"] = item.note
        buyer = self._buyer(item)
        if buyer:
            data["buyerIdentity"] = buyer
        return data

    def _buyer(self, item: BasketWrite) -> dict[str, str]:
        buyer: dict[str, str] = {}
        customer = item.customer
        if customer is not None and customer.email:
            buyer["email"] = customer.email
        if customer is not None and customer.phone:
            phone = re.sub(r"[\s.()-]", "", customer.phone)
            if E164.match(phone):
                buyer["phone"] = phone
        if self.country:
            buyer["countryCode"] = self.country
        return buyer

    # -- close ------------------------------------------------------------------------------

    def _close(self, item: BasketWrite) -> dict[str, Any]:
        ids = self._cart_ids(item)
        if not ids:
            raise DataError(f"no Shopify cart is known for basket {item.code}; nothing to close")
        cart_id = ids[0]
        cart = self._read(cart_id)
        if cart is None:
            return {"id": cart_id, "closed": True}  # expired or ordered: nothing left open
        attributes = _attributes(cart)
        if attributes.get(STATUS_ATTRIBUTE) != CONVERTED:
            attributes[CODE_ATTRIBUTE] = item.code
            attributes[STATUS_ATTRIBUTE] = CONVERTED
            self._mutate(
                CART_ATTRIBUTES_MUTATION,
                {
                    "cartId": cart["id"],
                    "attributes": [{"key": k, "value": v} for k, v in attributes.items()],
                },
                "cartAttributesUpdate",
                item.code,
            )
        return {"id": cart["id"], "closed": True}

    # -- calls ------------------------------------------------------------------------------

    def _cart_ids(self, item: BasketWrite) -> list[str]:
        bound = self.bindings.get_external(STOREFRONT_CART_ENTITY, item.code)
        return list(dict.fromkeys(i for i in (item.external_id, bound) if i))

    def _read(self, cart_id: str) -> dict[str, Any] | None:
        assert self.client is not None
        data = self.client.execute(
            CART_QUERY, {"id": cart_id}, what="shopify storefront cart", cost=REQUEST_COST
        )
        cart = data.get("cart")
        return cart if isinstance(cart, dict) and cart.get("id") else None

    def _mutate(
        self, query: str, variables: dict[str, Any], name: str, code: str
    ) -> dict[str, Any]:
        assert self.client is not None
        data = self.client.execute(
            query, variables, what=f"shopify storefront {name}", cost=REQUEST_COST
        )
        payload = data.get(name)
        if not isinstance(payload, dict):
            raise DataError(f"shopify {name} for basket {code} answered without a payload")
        errors = payload.get("userErrors") or []
        if errors:
            raise DataError(
                f"shopify {name} refused basket {code}: "
                + "; ".join(_error_text(error) for error in errors)
            )
        return payload


def _basket_write(raw: Record, position: int) -> BasketWrite:
    try:
        if isinstance(raw, BasketWrite):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return BasketWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"baskets batch item {position} is not a basket write: {exc}") from exc


def _units(quantity: Decimal) -> int:
    if not quantity.is_finite() or quantity != quantity.to_integral_value() or quantity < 1:
        raise DataError(f"quantity {quantity} is not a whole number of units; a cart needs one")
    return int(quantity)


def _attributes(cart: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in cart.get("attributes") or ():
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            found[entry["key"]] = str(entry.get("value") or "")
    return found


def _opened(cart: dict[str, Any]) -> dict[str, Any]:
    return {"id": cart["id"], "url": cart.get("checkoutUrl"), "token": cart_token(cart["id"])}


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    field = error.get("field")
    where = f" ({'.'.join(str(p) for p in field)})" if isinstance(field, list) and field else ""
    return f"{error.get('code') or 'ERROR'}{where}: {error.get('message') or 'refused'}"
