"""WooCommerce Store API carts, pushed to Brique, to canonical baskets: pure functions.

WooCommerce has no cart webhook and its REST API no cart resource: a cart lives in a
shopper's session and is read with the Store API, ``GET /wp-json/wc/store/v1/cart``, by the
shopper's own browser or headless front (``Cart-Token`` header). So the shop pushes it: a
server-side part of the shop (a WordPress hook, the headless front's backend; never the
browser, which cannot keep a secret) POSTs to Brique's webhook route of the connection
(``/webhooks/<connection>``):

- body: the Store API cart response, verbatim (documented shape, "Cart Response" in
  woocommerce ``plugins/woocommerce/src/StoreApi/docs/cart.md``, also
  https://developer.woocommerce.com/docs/apis/store-api/resources-endpoints/cart);
- ``X-WC-Webhook-Topic: cart.updated`` (Brique's topic name; ``cart.created`` is read alike);
- ``Cart-Token: <the cart's token>``, the header the Store API answered with;
- ``X-WC-Webhook-Signature``: base64(HMAC-SHA256(``webhook_secret``, raw body)), as
  WooCommerce signs its own webhooks, so the connection's one secret checks both.

Identity. The body names no cart. The ``Cart-Token`` is a JWT WooCommerce makes with
``CartTokenUtils::get_cart_token($customer_id)``: payload ``{"user_id": <session customer
id>, "exp": <now + 48 h>, "iss": "store-api"}``, signed with a key derived from the site's
salts (which Brique does not hold: the push is authenticated by the HMAC above, and the
token's claims are only read). ``user_id`` is the session's customer id (a registered
customer's user id, else a guest id) and is the basket id; a token that is not a JWT is
named by its SHA-256. ``exp`` moves with every token WooCommerce issues, so it tells two
pushes of one cart apart in time.

Event keys: ``cart/<user_id>@<exp>/<digest of the contents>``. The same delivery sent twice
is one inbox row; a changed cart is a new event; a cart that goes back to an earlier content
under a later token is a new event too. The Store API cart carries no modification time, so
``updated_at`` stays empty.

Money. The Store API gives amounts as strings of integers in minor units with
``currency_minor_unit`` beside them (``"1800"``, 2 -> 18.00): converted exactly, never
through a float. ``prices.price`` is the unit price shown in the cart (with or without tax,
as the store's "display prices in the cart" setting says).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from bridge.connector import InboundEvent
from bridge.errors import DataError
from bridge.model import BasketBody, CustomerRef, Money
from bridge.model.basket import Basket, BasketLine, BasketStatus

CART = "cart"
CART_TOPICS = frozenset({"cart.created", "cart.updated"})
CART_TOKEN = "Cart-Token"  # noqa: S105 - a header name, not a secret
_INTEGER = re.compile(r"-?\d+")


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a Store API cart token, read without checking its signature.

    A token that is not a readable JWT gives ``{}``."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def cart_id(token: str) -> str:
    """The cart's stable id: the token's ``user_id`` (the session's customer id)."""
    user = token_claims(token).get("user_id")
    if isinstance(user, str | int) and not isinstance(user, bool) and str(user).strip():
        return str(user).strip()
    return "token-" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]


def cart_key(token: str, payload: Mapping[str, Any]) -> str:
    """``cart/<id>@<exp>/<digest>``: one key per pushed version of a cart."""
    exp = token_claims(token).get("exp")
    stamp = str(exp) if isinstance(exp, int) and not isinstance(exp, bool) else "-"
    return f"cart/{cart_id(token)}@{stamp}/{_digest(payload)}"


def _digest(payload: Mapping[str, Any]) -> str:
    """What the basket is made of (items, quantities, prices, customer, totals)."""
    items = [
        (
            str(i.get("id")),
            str(i.get("sku") or ""),
            str(i.get("quantity")),
            str((i.get("prices") or {}).get("price")),
        )
        for i in payload.get("items") or ()
        if isinstance(i, Mapping)
    ]
    billing = payload.get("billing_address")
    email = billing.get("email") if isinstance(billing, Mapping) else None
    totals = payload.get("totals")
    total = totals.get("total_price") if isinstance(totals, Mapping) else None
    text = json.dumps([items, email, total], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cart_event(token: str, cart: Mapping[str, Any]) -> InboundEvent:
    """The inbox event of one push: the cart as received and the id its token names.

    The token itself is not kept: for 48 hours it opens the shopper's cart to whoever
    holds it, and Brique needs only its ``user_id``."""
    return InboundEvent(
        key=cart_key(token, cart),
        kind=CART,
        payload={"cart_id": cart_id(token), "cart": dict(cart)},
    )


def minor(value: Any, digits: Any, what: str) -> Decimal:
    """``"1800"`` with ``currency_minor_unit`` 2 -> ``Decimal("18.00")``, exactly."""
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 6:
        raise DataError(f"{what}: currency_minor_unit {digits!r} is not 0 to 6")
    text = str(value).strip() if isinstance(value, str | int) else ""
    if isinstance(value, bool) or not _INTEGER.fullmatch(text):
        raise DataError(f"{what} {value!r} is not an integer amount in minor units")
    return Decimal(int(text)).scaleb(-digits)


def decode_cart(
    payload: Mapping[str, Any],
    basket_id: str,
    sku_for: Callable[[str], str | None] | None = None,
) -> list[BasketBody]:
    """A Store API cart (``basket_id`` from its token) -> one active web basket; an emptied
    cart has no lines.

    A line without a SKU takes the SKU bound to its product id (``sku_for``), else the whole
    cart is refused: a basket with a line Brique cannot name would hand over less than the
    shopper chose."""
    if not basket_id:
        raise DataError("cart event without its cart id")
    what = f"cart {basket_id}"
    totals = payload.get("totals")
    totals = totals if isinstance(totals, Mapping) else {}
    currency = str(totals.get("currency_code") or "").strip().upper()
    items = [i for i in payload.get("items") or () if isinstance(i, Mapping)]
    if not currency and items:
        prices = items[0].get("prices")
        currency = str((prices or {}).get("currency_code") or "").strip().upper()
    if not currency:
        raise DataError(f"{what}: no currency_code in its totals")
    try:
        basket = Basket(
            basket_id=basket_id,
            channel="web",
            status=BasketStatus.ACTIVE,
            currency=currency,
            lines=tuple(_line(item, n, what, sku_for) for n, item in enumerate(items, 1)),
            customer=_customer(payload, basket_id),
        )
    except ValidationError as exc:
        raise DataError(f"{what}: {exc}") from None
    return [BasketBody(basket=basket)]


def _line(
    item: Mapping[str, Any], position: int, what: str, sku_for: Callable[[str], str | None] | None
) -> BasketLine:
    product = str(item.get("id") or "").strip()
    where = f"{what} item {position} ({item.get('name') or product or '?'})"
    sku = str(item.get("sku") or "").strip()
    if not sku and sku_for is not None and product:
        sku = sku_for(product) or ""
    if not sku:
        raise DataError(f"{where} has no SKU; give the product a SKU in WooCommerce")
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int | str):
        raise DataError(f"{where}: quantity {quantity!r}")
    try:
        count = Decimal(str(quantity).strip())
    except ArithmeticError:
        raise DataError(f"{where}: quantity {quantity!r}") from None
    prices = item.get("prices")
    unit = None
    if isinstance(prices, Mapping) and prices.get("price") not in (None, ""):
        currency = str(prices.get("currency_code") or "").strip().upper()
        amount = minor(prices.get("price"), prices.get("currency_minor_unit"), f"{where} price")
        unit = Money(amount=amount, currency=currency) if currency else None
    return BasketLine(sku=sku, quantity=count, unit_price=unit)


def _customer(payload: Mapping[str, Any], basket_id: str) -> CustomerRef | None:
    billing = payload.get("billing_address")
    billing = billing if isinstance(billing, Mapping) else {}
    email = str(billing.get("email") or "").strip() or None
    phone = str(billing.get("phone") or "").strip() or None
    name = " ".join(
        str(part).strip() for part in (billing.get("first_name"), billing.get("last_name")) if part
    ).strip()
    # A registered shopper's session customer id is their user id; a guest's is not a number.
    user = basket_id if basket_id.isdigit() and basket_id != "0" else None
    if not (email or phone or name or user):
        return None
    return CustomerRef(
        customer_id=user,
        email=email,
        phone=phone,
        name=name or None,
        channel_ids={"woocommerce": user} if user else {},
    )
