"""Vendure baskets both ways: active orders read as baskets, handed-off baskets opened as
active orders a customer's browser resumes, closed by cancelling them.

Read (``baskets`` stream, Admin API). A Vendure cart is an *active order*
(``active: true``; states ``AddingItems``, ``ArrangingPayment``...): the Admin API lists them
with ``orders(options: {filter: {active: {eq: true}}})``. The stream is a keyset on
``updatedAt`` like the ``orders`` stream; Vendure's SQLite times have whole seconds and a
change within the same second keeps ``updatedAt``, so the cursor keeps, for the last instant
read, each order id with a digest of its contents (``<instant>|<id>:<digest>,...``): an order
changed again within that second is read again, a replay is not. Event keys are
``basket/<code>@<updatedAt>/<digest>``. An order leaves the stream when it is placed (the
``orders`` stream reads it then, its ``Sale.basket`` being the order code) or cancelled.
Vendure has no wish list or saved-for-later list: every basket it gives is a cart.

Write (``baskets`` sink, Shop API; see ``shop.ShopClient`` for sessions). Opening:

1. the session: the token bound to the handoff code (``vendure_basket_session``), else a new
   anonymous session (one ``activeOrder`` query), whose token is bound at once, before any
   order exists, so a retry after a crash finds the same session and its order;
2. the lines: the session's active order is brought to exactly the basket's lines
   (``addItemToOrder``, ``adjustOrderLine``, ``removeOrderLine``): the first call creates the
   order, a replay changes nothing;
3. the customer, when the basket names an e-mail and the order has no customer yet
   (``setCustomerForOrder``; Vendure refuses it for an e-mail of a registered customer
   when guest checkout is off for them: the order stays anonymous and the customer signs in);
4. the order code is bound (``vendure_basket``) and answered as the basket's ``id``.

The link. Vendure has no storefront of its own: the shop's storefront must resume the
session. ``basket_url`` is its template, e.g.
``https://shop.example.com/basket/resume?token={token}&order={order}``: ``{token}`` is the
session token, ``{order}`` the order code, ``{code}`` the handoff code, all URL-encoded. The
storefront contract: store ``token`` where it keeps its own Vendure session token (its
``vendure-auth-token``) and send it as ``Authorization: Bearer <token>`` to the Shop API
(``bearer`` must be in ``authOptions.tokenMethod``); ``activeOrder`` then answers the order
whose ``code`` is ``order``; then show the cart or the checkout. When the customer signs
in, Vendure's ``OrderMergeStrategy`` merges it into their own active order. The token gives
access to that anonymous session and nothing else; it is a bearer credential all the same,
kept in Brique's bindings and in the link, never in logs.

Closing: ``cancelOrder`` on the Admin API (Vendure 3.7.3 cancels an active order: state
``Cancelled``, ``active: false``), so the link no longer finds a cart. An order already
cancelled is closed; an order the customer placed on the shop is never cancelled (the item
fails, saying so).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from bridge.connector import BasketWrite
from bridge.errors import ConfigError, DataError
from bridge.model import BasketBody, CustomerRef, Money
from bridge.model.basket import Basket, BasketLine, BasketStatus
from connectors.vendure.client import VendureClient
from connectors.vendure.orders import CANCELLED, minor_to_decimal, parse_time, time_text
from connectors.vendure.shop import ShopClient

log = logging.getLogger(__name__)

BASKET = "basket"
SESSION_ENTITY = "vendure_basket_session"
"""Binding: handoff code -> the Shop API session token that holds its active order."""
ORDER_ENTITY = "vendure_basket"
"""Binding: handoff code -> the code of the active order opened for it."""

ACTIVE_ORDERS = """
query BriqueActiveOrders($after: DateTime!, $take: Int!) {
  orders(options: {filter: {active: {eq: true}, updatedAt: {after: $after}},
                   sort: {updatedAt: ASC, id: ASC}, take: $take}) {
    totalItems
    items {
      id code state active createdAt updatedAt currencyCode totalWithTax
      customer { id emailAddress firstName lastName }
      lines { id quantity unitPriceWithTax productVariant { id sku name } }
    }
  }
}
"""
ORDER_BY_CODE = """
query BriqueOrderByCode($code: String!) {
  orders(options: {filter: {code: {eq: $code}}, take: 1}) { items { id code state active } }
}
"""
CANCEL_ORDER = """
mutation BriqueCancelOrder($id: ID!) {
  cancelOrder(input: {orderId: $id}) {
    __typename
    ... on Order { id code state active }
    ... on ErrorResult { errorCode message }
  }
}
"""
_ORDER = "id code state active customer { id } lines { id quantity productVariant { id sku } }"
_RESULT = f"__typename ... on Order {{ {_ORDER} }} ... on ErrorResult {{ errorCode message }}"
SHOP_ACTIVE = f"query BriqueActiveOrder {{ activeOrder {{ {_ORDER} }} }}"
SHOP_ADD = f"""
mutation BriqueAddItem($variant: ID!, $quantity: Int!) {{
  addItemToOrder(productVariantId: $variant, quantity: $quantity) {{ {_RESULT} }}
}}
"""
SHOP_ADJUST = f"""
mutation BriqueAdjustLine($line: ID!, $quantity: Int!) {{
  adjustOrderLine(orderLineId: $line, quantity: $quantity) {{ {_RESULT} }}
}}
"""
SHOP_REMOVE = f"""
mutation BriqueRemoveLine($line: ID!) {{ removeOrderLine(orderLineId: $line) {{ {_RESULT} }} }}
"""
SHOP_CUSTOMER = """
mutation BriqueSetCustomer($input: CreateCustomerInput!) {
  setCustomerForOrder(input: $input) {
    __typename
    ... on ErrorResult { errorCode message }
  }
}
"""


# -- read -----------------------------------------------------------------------------------


def basket_digest(order: Mapping[str, Any]) -> str:
    """What a basket is made of: state, customer, lines (variant, quantity, unit price)."""
    lines = sorted(
        (
            str((line.get("productVariant") or {}).get("id")),
            str(line.get("quantity")),
            str(line.get("unitPriceWithTax")),
        )
        for line in order.get("lines") or ()
        if isinstance(line, Mapping)
    )
    customer = order.get("customer") if isinstance(order.get("customer"), Mapping) else {}
    text = repr((order.get("state"), customer.get("id"), customer.get("emailAddress"), lines))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def basket_key(order: Mapping[str, Any], digest: str) -> str:
    return f"basket/{order.get('code')}@{order.get('updatedAt')}/{digest}"


def basket_cursor(since: datetime, seen: Mapping[str, str]) -> str:
    ids = sorted(seen, key=lambda i: (len(i), i))
    return f"{time_text(since)}|{','.join(f'{i}:{seen[i]}' for i in ids)}"


def parse_basket_cursor(cursor: str) -> tuple[datetime, dict[str, str]]:
    text, _, pairs = cursor.partition("|")
    since = parse_time(text)
    if since is None:
        raise DataError(f"vendure baskets cursor {cursor!r} is not readable")
    seen = {}
    for pair in pairs.split(","):
        order_id, _, digest = pair.strip().partition(":")
        if order_id:
            seen[order_id] = digest
    return since, seen


def decode_basket(payload: Mapping[str, Any], handoff: str | None = None) -> list[BasketBody]:
    """An order as ``ACTIVE_ORDERS`` lists it -> one web basket keyed by its order code."""
    code = str(payload.get("code") or "").strip()
    if not code:
        raise DataError("basket payload has no order 'code'")
    what = f"basket {code}"
    currency = str(payload.get("currencyCode") or "").strip().upper()
    if not currency:
        raise DataError(f"{what} has no currencyCode")
    state = str(payload.get("state") or "")
    if payload.get("active") is False:
        status = BasketStatus.EXPIRED if state in CANCELLED else BasketStatus.CONVERTED
    else:
        status = BasketStatus.ACTIVE
    customer = payload.get("customer") if isinstance(payload.get("customer"), Mapping) else {}
    email = str(customer.get("emailAddress") or "").strip() or None
    name = " ".join(
        str(p).strip() for p in (customer.get("firstName"), customer.get("lastName")) if p
    ).strip()
    try:
        basket = Basket(
            basket_id=code,
            channel="web",
            status=status,
            currency=currency,
            lines=tuple(
                _line(row, currency, what)
                for row in payload.get("lines") or ()
                if isinstance(row, Mapping)
            ),
            customer=(
                CustomerRef(
                    email=email,
                    name=name or None,
                    channel_ids={"vendure": str(customer["id"])} if customer.get("id") else {},
                )
                if customer.get("id") or email
                else None
            ),
            created_at=parse_time(payload.get("createdAt")),
            updated_at=parse_time(payload.get("updatedAt")),
            order_reference=code if status is BasketStatus.CONVERTED else None,
            code=handoff,
        )
    except ValidationError as exc:
        raise DataError(f"{what}: {exc}") from None
    return [BasketBody(basket=basket)]


def _line(row: Mapping[str, Any], currency: str, what: str) -> BasketLine:
    variant = row.get("productVariant") if isinstance(row.get("productVariant"), Mapping) else {}
    sku = str(variant.get("sku") or "").strip()
    if not sku:
        raise DataError(
            f"{what} line {row.get('id')}: its variant {variant.get('id')!r} has no SKU"
        )
    quantity = row.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise DataError(f"{what} line {row.get('id')}: quantity {quantity!r}")
    unit = minor_to_decimal(row.get("unitPriceWithTax"), currency)
    return BasketLine(
        sku=sku,
        quantity=Decimal(quantity),
        unit_price=Money(amount=unit, currency=currency) if unit is not None else None,
    )


# -- write ----------------------------------------------------------------------------------


def link(template: str, *, token: str, order: str, code: str) -> str:
    """The customer's link from the ``basket_url`` template, values URL-encoded."""
    return template.format(
        token=quote(token, safe=""), order=quote(order, safe=""), code=quote(code, safe="")
    )


@dataclass
class Opened:
    id: str | None
    url: str | None


class BasketWriter:
    """Opens and closes handed-off baskets as Vendure active orders (see the module doc)."""

    def __init__(
        self,
        admin: VendureClient,
        shop: ShopClient,
        bindings: Any,
        template: str | None,
        variants: Callable[[list[str]], tuple[dict[str, Any], dict[str, str]]],
    ) -> None:
        self.admin, self.shop, self.bindings = admin, shop, bindings
        self.template = template
        self.variants = variants

    # -- open -------------------------------------------------------------------------------

    def open(self, item: BasketWrite) -> Opened:
        if not self.template:
            raise ConfigError(
                "vendure: set basket_url (the storefront page that resumes a session, with "
                "{token}) before opening baskets"
            )
        wanted = self._wanted(item)
        token = self.bindings.get_external(SESSION_ENTITY, item.code)
        if token is None:
            _, token = self.shop.execute(SHOP_ACTIVE, token=None, what="vendure new session")
            if not token:
                raise ConfigError(
                    "vendure Shop API answered no vendure-auth-token: add 'bearer' to the "
                    "server's authOptions.tokenMethod"
                )
            self.bindings.put(SESSION_ENTITY, item.code, token)
        data, issued = self.shop.execute(
            SHOP_ACTIVE, token=token, what=f"vendure basket {item.code}"
        )
        order = data.get("activeOrder")
        bound = self.bindings.get_external(ORDER_ENTITY, item.code) or item.external_id
        if issued is not None or (order is None and bound):
            return self._gone(item, bound, token, session_lost=issued is not None)
        order = self._converge(item, token, order, wanted)
        if item.customer is not None and item.customer.email and not order.get("customer"):
            self._set_customer(item, token)
        code = str(order["code"])
        self.bindings.put(ORDER_ENTITY, item.code, code)
        return Opened(code, link(self.template, token=token, order=code, code=item.code))

    def _wanted(self, item: BasketWrite) -> dict[str, int]:
        """Variant id -> whole quantity; refuses what Vendure cannot hold."""
        quantities: dict[str, Decimal] = {}
        for line in item.lines:
            quantities[line.sku] = quantities.get(line.sku, Decimal(0)) + line.quantity
        if not quantities:
            raise DataError("the basket has no lines: Vendure keeps no empty active order")
        found, refused = self.variants(sorted(quantities))
        missing = [
            refused.get(sku, f"SKU {sku!r} unresolved") for sku in quantities if sku not in found
        ]
        if missing:
            raise DataError("; ".join(missing))
        wanted: dict[str, int] = {}
        for sku, quantity in quantities.items():
            if quantity <= 0 or quantity != quantity.to_integral_value():
                raise DataError(f"SKU {sku!r}: quantity {quantity} is not a whole number above 0")
            wanted[found[sku].id] = int(quantity)
        return wanted

    def _converge(
        self, item: BasketWrite, token: str, order: Any, wanted: dict[str, int]
    ) -> dict[str, Any]:
        """Bring the session's active order to exactly ``wanted`` (creating it if needed)."""
        lines: dict[str, list[dict[str, Any]]] = {}
        for line in (order or {}).get("lines") or ():
            variant = str((line.get("productVariant") or {}).get("id"))
            lines.setdefault(variant, []).append(line)
        what = f"vendure basket {item.code}"
        for variant, quantity in wanted.items():
            present = lines.pop(variant, [])
            if not present:
                order = self._mutate(
                    SHOP_ADD, {"variant": variant, "quantity": quantity}, token, what
                )
                continue
            first, *extra = present
            if first.get("quantity") != quantity:
                order = self._mutate(
                    SHOP_ADJUST, {"line": first["id"], "quantity": quantity}, token, what
                )
            for line in extra:
                order = self._mutate(SHOP_REMOVE, {"line": line["id"]}, token, what)
        for present in lines.values():
            for line in present:
                order = self._mutate(SHOP_REMOVE, {"line": line["id"]}, token, what)
        if not isinstance(order, dict) or not order.get("code"):
            raise DataError(f"{what}: Vendure answered no active order")
        return order

    def _mutate(
        self, query: str, variables: dict[str, Any], token: str, what: str
    ) -> dict[str, Any]:
        data, issued = self.shop.execute(query, variables, token=token, what=what)
        if issued is not None:
            raise DataError(f"{what}: Vendure no longer knows the basket's session")
        (result,) = data.values()
        if not isinstance(result, dict) or result.get("__typename") != "Order":
            error = result if isinstance(result, dict) else {}
            raise DataError(
                f"{what}: {error.get('errorCode') or error.get('__typename') or 'refused'}: "
                f"{error.get('message') or ''}".rstrip(": ")
            )
        return result

    def _set_customer(self, item: BasketWrite, token: str) -> None:
        customer = item.customer
        assert customer is not None and customer.email
        first, _, last = (customer.name or "").strip().partition(" ")
        data, _ = self.shop.execute(
            SHOP_CUSTOMER,
            {"input": {"emailAddress": customer.email, "firstName": first, "lastName": last}},
            token=token,
            what=f"vendure basket {item.code} customer",
        )
        result = data.get("setCustomerForOrder") or {}
        if result.get("__typename") != "Order":
            # e.g. EMAIL_ADDRESS_CONFLICT_ERROR: a registered customer signs in at checkout.
            log.info("vendure basket %s: customer not set (%s)", item.code, result.get("errorCode"))

    def _gone(
        self, item: BasketWrite, bound: str | None, token: str, *, session_lost: bool
    ) -> Opened:
        """The session holds no active order any more: placed, closed, or the session lost."""
        order = self._order(bound) if bound else None
        if order is not None and not order.get("active"):
            if str(order.get("state")) in CANCELLED:
                raise DataError(
                    f"vendure basket {item.code}: order {bound} was cancelled (closed); a "
                    "closed basket is not opened again"
                )
            assert bound is not None and self.template
            # Placed on the shop: the basket is converted; opening it again changes nothing.
            return Opened(bound, link(self.template, token=token, order=bound, code=item.code))
        reason = "its session expired" if session_lost else "its session holds no active order"
        which = f" (order {bound})" if bound else ""
        raise DataError(
            f"vendure basket {item.code}: {reason}{which}; close it and open a new basket"
        )

    # -- close ------------------------------------------------------------------------------

    def close(self, item: BasketWrite) -> str | None:
        """Cancel the basket's active order; returns its code (None if it never had one)."""
        code = self.bindings.get_external(ORDER_ENTITY, item.code) or item.external_id
        if code is None:
            token = self.bindings.get_external(SESSION_ENTITY, item.code)
            if token is None:
                return None
            data, issued = self.shop.execute(
                SHOP_ACTIVE, token=token, what=f"vendure basket {item.code}"
            )
            order = data.get("activeOrder") if issued is None else None
            if not order:
                return None
            code = str(order["code"])
        order = self._order(code)
        if order is None or str(order.get("state")) in CANCELLED:
            return code
        if not order.get("active"):
            raise DataError(
                f"vendure basket {item.code}: order {code} was placed on the shop "
                f"(state {order.get('state')}); it is not cancelled"
            )
        data = self.admin.execute(
            CANCEL_ORDER, {"id": order["id"]}, what=f"vendure cancel order {code}"
        )
        result = data.get("cancelOrder") or {}
        if result.get("__typename") != "Order" or str(result.get("state")) not in CANCELLED:
            raise DataError(
                f"vendure cancel order {code}: {result.get('errorCode') or 'refused'}: "
                f"{result.get('message') or result.get('state') or ''}"
            )
        return code

    def _order(self, code: str) -> dict[str, Any] | None:
        data = self.admin.execute(ORDER_BY_CODE, {"code": code}, what=f"vendure order {code}")
        items = (data.get("orders") or {}).get("items") or ()
        return next((i for i in items if isinstance(i, dict)), None)
