"""Store API carts pushed to Brique: signature, identity from the Cart-Token, keys, decoding.

The body is the Store API's documented "Cart Response" (woocommerce
``plugins/woocommerce/src/StoreApi/docs/cart.md``), with our own values in the same shape
(``data/store_cart.json``); the token is shaped as ``CartTokenUtils::get_cart_token`` makes
it (a JWT with ``user_id``, ``exp``, ``iss: store-api``).
"""

from __future__ import annotations

import base64
import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from bridge.connector import WebhookRequest
from bridge.errors import AuthError, DataError
from bridge.model import BasketBody, BasketStatus, Money
from connectors.woocommerce import WooCommerceConnector
from connectors.woocommerce.carts import cart_id, minor, token_claims
from connectors.woocommerce.payloads import ITEM_ENTITY
from tests.woocommerce.woo_fakes import load, sign, webhook_headers

GUEST = "t_8d1f0c2a9b3e4f5a6b7c8d9e0f1a2b"
EXP = 1_796_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def cart_token(user_id: str | int = GUEST, exp: int = EXP) -> str:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"user_id": user_id, "exp": exp, "iss": "store-api"}).encode())
    return f"{header}.{claims}.{b64(b'not-checked-by-brique')}"


def pushed(
    cart: dict[str, Any] | None = None,
    token: str | None = None,
    *,
    topic: str = "cart.updated",
    signed: bool = True,
) -> WebhookRequest:
    body = json.dumps(cart if cart is not None else load("store_cart.json")).encode()
    headers = webhook_headers(topic, "", body, signed=signed)
    del headers["X-WC-Webhook-Delivery-ID"]
    if token is not None:
        headers["Cart-Token"] = token
    return WebhookRequest(headers=headers, body=body)


def basket_of(connector: WooCommerceConnector, request: WebhookRequest) -> Any:
    connector.verify_webhook(request)
    (event,) = connector.parse_webhook(request)
    (body,) = connector.decode(event)
    assert isinstance(body, BasketBody)
    return event, body.basket


def test_a_pushed_cart_becomes_an_active_web_basket(connector: WooCommerceConnector) -> None:
    event, basket = basket_of(connector, pushed(token=cart_token()))
    assert event.kind == "cart"
    assert event.key.startswith(f"cart/{GUEST}@{EXP}/")
    assert basket.basket_id == GUEST and basket.channel == "web"
    assert basket.status is BasketStatus.ACTIVE and basket.currency == "EUR"
    assert [(line.sku, line.quantity, line.unit_price) for line in basket.lines] == [
        ("Woo-beanie-logo", Decimal(2), Money(amount=Decimal("18.00"), currency="EUR")),
        ("woo-belt", Decimal(1), Money(amount=Decimal("55.05"), currency="EUR")),
    ]
    assert basket.customer is not None
    assert basket.customer.email == "jeanne.martin@example.com"
    assert basket.customer.name == "Jeanne Martin" and basket.customer.channel_ids == {}


def test_the_token_is_not_kept_only_the_id_it_names(connector: WooCommerceConnector) -> None:
    token = cart_token()
    (event,) = connector.parse_webhook(pushed(token=token))
    assert token not in json.dumps(event.payload)
    assert event.payload["cart_id"] == GUEST


def test_a_registered_shoppers_cart_names_the_customer(connector: WooCommerceConnector) -> None:
    _, basket = basket_of(connector, pushed(token=cart_token(user_id=42)))
    assert basket.basket_id == "42"
    assert basket.customer.customer_id == "42"
    assert basket.customer.channel_ids == {"woocommerce": "42"}


def test_keys_change_with_the_cart_and_not_on_a_replay(connector: WooCommerceConnector) -> None:
    token = cart_token()
    first = connector.parse_webhook(pushed(token=token))[0].key
    assert connector.parse_webhook(pushed(token=token))[0].key == first  # the same push again
    changed = load("store_cart.json")
    changed["items"][1]["quantity"] = 3
    assert connector.parse_webhook(pushed(changed, token))[0].key != first
    later = connector.parse_webhook(pushed(token=cart_token(exp=EXP + 60)))[0].key
    assert later != first and later.startswith(f"cart/{GUEST}@{EXP + 60}/")
    other = connector.parse_webhook(pushed(token=cart_token(user_id="t_other")))[0].key
    assert other.startswith("cart/t_other@")


def test_an_emptied_cart_has_no_lines(connector: WooCommerceConnector) -> None:
    cart = load("store_cart.json")
    cart["items"] = []
    _, basket = basket_of(connector, pushed(cart, cart_token()))
    assert basket.lines == () and basket.currency == "EUR"


def test_pushes_are_signed_and_name_their_cart(connector: WooCommerceConnector) -> None:
    with pytest.raises(AuthError):
        connector.verify_webhook(pushed(token=cart_token(), signed=False))
    forged = pushed(token=cart_token())
    headers = dict(forged.headers)
    headers["X-WC-Webhook-Signature"] = sign(forged.body, "not-the-secret")
    with pytest.raises(AuthError, match="does not match"):
        connector.verify_webhook(WebhookRequest(headers=headers, body=forged.body))
    with pytest.raises(DataError, match="Cart-Token"):
        connector.parse_webhook(pushed())


def test_a_line_without_sku_takes_the_bound_one_or_refuses(
    connector: WooCommerceConnector,
) -> None:
    cart = load("store_cart.json")
    cart["items"][1]["sku"] = ""
    request = pushed(cart, cart_token())
    (event,) = connector.parse_webhook(request)
    with pytest.raises(DataError, match=r"Belt.*no SKU"):
        connector.decode(event)
    connector.context.bindings.put(ITEM_ENTITY, "SKU-BELT-BOUND", "22")
    (body,) = connector.decode(event)
    assert [line.sku for line in body.basket.lines] == ["Woo-beanie-logo", "SKU-BELT-BOUND"]


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        ("1800", 2, Decimal("18.00")),
        ("5505", 2, Decimal("55.05")),
        (1800, 0, Decimal("1800")),
        ("12345", 3, Decimal("12.345")),
        ("-250", 2, Decimal("-2.50")),
        ("0", 2, Decimal("0.00")),
    ],
)
def test_minor_units_are_exact(value: Any, digits: int, expected: Decimal) -> None:
    found = minor(value, digits, "price")
    assert found == expected and str(found) == str(expected)


@pytest.mark.parametrize(
    ("value", "digits"), [("18.00", 2), (18.5, 2), (True, 2), ("", 2), ("1800", "2"), ("1", 9)]
)
def test_amounts_that_are_not_minor_units_are_refused(value: Any, digits: Any) -> None:
    with pytest.raises(DataError):
        minor(value, digits, "price")


def test_a_yen_cart_keeps_its_exponent(connector: WooCommerceConnector) -> None:
    cart = copy.deepcopy(load("store_cart.json"))
    for item in cart["items"]:
        item["prices"].update(currency_code="JPY", currency_minor_unit=0, price="1980")
    cart["totals"].update(currency_code="JPY", currency_minor_unit=0)
    _, basket = basket_of(connector, pushed(cart, cart_token()))
    assert basket.currency == "JPY"
    assert {line.unit_price for line in basket.lines} == {
        Money(amount=Decimal("1980"), currency="JPY")
    }


def test_identity_of_tokens() -> None:
    assert token_claims(cart_token())["iss"] == "store-api"
    assert token_claims("not-a-jwt") == {} and token_claims("a.b!.c") == {}
    assert cart_id("opaque-token").startswith("token-")
    assert cart_id("opaque-token") == cart_id("opaque-token") != cart_id("other")
