"""Cart and checkout webhooks decoded as canonical baskets, signed like every Shopify webhook.

Payloads follow Shopify's ``carts/create`` example (https://shopify.dev/docs/api/webhooks) and
the abandoned checkout resource
(https://shopify.dev/docs/api/admin-rest/2024-10/resources/abandoned-checkouts); see
``shopify_samples``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import responses
from shopify_fakes import GRAPHQL_URL, cost, sign, webhook
from shopify_samples import CART_TOKEN, CHECKOUT_TOKEN, cart, checkout

from bridge.connector import ConnectorContext, InboundEvent, WebhookRequest
from bridge.errors import AuthError, DataError
from bridge.model import Basket, BasketBody, BasketStatus, Money
from connectors.shopify import ShopifyConnector
from connectors.shopify.storefront import CART_TOKEN_ENTITY


def decode(connector: ShopifyConnector, topic: str, payload: dict[str, Any]) -> Basket:
    (body,) = connector.decode(InboundEvent(key="d-1", kind=topic, payload=payload))
    assert isinstance(body, BasketBody)
    return body.basket


# -- carts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["carts/create", "carts/update"])
def test_cart_is_an_active_web_basket_keyed_by_its_token(
    connector: ShopifyConnector, topic: str
) -> None:
    basket = decode(connector, topic, cart())
    assert basket.basket_id == CART_TOKEN and basket.channel == "web"
    assert basket.status is BasketStatus.ACTIVE
    # No currency field in a cart webhook: the lines' presentment money says it.
    assert basket.currency == "CHF"
    (line,) = basket.lines
    assert line.sku == "example-shirt-s" and line.quantity == Decimal(3)
    assert line.unit_price == Money(amount=Decimal("21.49"), currency="CHF")
    assert basket.created_at == datetime(2026, 1, 15, 9, 58, tzinfo=UTC)
    assert basket.updated_at == datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    assert basket.code is None and basket.customer is None and basket.url is None


def test_cart_brique_created_finds_its_code_through_the_binding(
    connector: ShopifyConnector, context: ConnectorContext
) -> None:
    context.bindings.put(CART_TOKEN_ENTITY, "K7M4QXZ3", CART_TOKEN)
    assert decode(connector, "carts/update", cart()).code == "K7M4QXZ3"


def test_cart_carrying_the_attribute_names_its_code(connector: ShopifyConnector) -> None:
    body = cart(attributes={"brique_code": "Q2W3E4R5", "gift": "no"})
    assert decode(connector, "carts/update", body).code == "Q2W3E4R5"


def test_cart_with_no_currency_anywhere_takes_the_shops(connector: ShopifyConnector) -> None:
    body = cart()
    del body["line_items"][0]["price_set"]
    shop = {"data": {"shop": {"currencyCode": "EUR"}}, "extensions": cost(1, 1)}
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, GRAPHQL_URL, json=shop)
        basket = decode(connector, "carts/create", body)
        decode(connector, "carts/update", body)
        assert len(mock.calls) == 1  # asked once, then remembered
    assert basket.currency == "EUR"
    assert basket.lines[0].unit_price == Money(amount=Decimal("19.99"), currency="EUR")


def test_empty_cart_decodes_with_no_lines(connector: ShopifyConnector) -> None:
    basket = decode(connector, "carts/update", cart(line_items=[], currency="EUR"))
    assert basket.lines == () and basket.currency == "EUR"


def test_cart_line_without_sku_or_cart_without_token_is_a_data_error(
    connector: ShopifyConnector,
) -> None:
    body = cart()
    body["line_items"][0]["sku"] = None
    with pytest.raises(DataError, match="no SKU"):
        decode(connector, "carts/update", body)
    with pytest.raises(DataError, match="without token"):
        decode(connector, "carts/update", cart(id=None, token=None))


# -- checkouts ------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["checkouts/create", "checkouts/update"])
def test_open_checkout_is_an_active_basket_with_its_resume_link(
    connector: ShopifyConnector, topic: str
) -> None:
    basket = decode(connector, topic, checkout())
    assert basket.basket_id == CHECKOUT_TOKEN and basket.status is BasketStatus.ACTIVE
    assert basket.currency == "EUR" and basket.code == "K7M4QXZ3"
    assert basket.url is not None and basket.url.endswith("/recover?key=example-secret-token")
    assert [(line.sku, line.quantity) for line in basket.lines] == [
        ("IPOD2008PINK", Decimal(1)),
        ("IPOD2008RED", Decimal(2)),
    ]
    assert basket.customer is not None
    assert basket.customer.email == "bob.norman@example.com"
    assert basket.customer.phone == "+33700000001"
    assert basket.customer.channel_ids == {"shopify": "207119551"}
    assert basket.order_reference is None


def test_completed_checkout_is_converted_with_its_order(connector: ShopifyConnector) -> None:
    done = decode(
        connector,
        "checkouts/update",
        checkout(completed_at="2026-01-15T10:10:00+01:00", order_id=820982911946154508),
    )
    assert done.status is BasketStatus.CONVERTED
    assert done.order_reference == "820982911946154508"
    completed_only = checkout(completed_at="2026-01-15T10:10:00+01:00")
    assert decode(connector, "checkouts/update", completed_only).status is BasketStatus.CONVERTED


def test_checkout_of_a_brique_cart_finds_the_code_through_its_cart_token(
    connector: ShopifyConnector, context: ConnectorContext
) -> None:
    context.bindings.put(CART_TOKEN_ENTITY, "K7M4QXZ3", CART_TOKEN)
    basket = decode(connector, "checkouts/update", checkout(note_attributes=[]))
    assert basket.code == "K7M4QXZ3"


# -- signed webhooks for the new topics ----------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("carts/create", cart()),
        ("checkouts/update", checkout()),
        ("refunds/create", {"id": 1, "order_id": 2, "refund_line_items": []}),
        ("orders/cancelled", {"id": 3, "cancelled_at": "2026-01-16T09:00:00Z"}),
    ],
)
def test_new_topics_are_verified_parsed_and_replay_safe(
    connector: ShopifyConnector, topic: str, payload: dict[str, Any]
) -> None:
    request = webhook(topic, payload)
    connector.verify_webhook(request)
    first, again = connector.parse_webhook(request), connector.parse_webhook(request)
    assert [e.key for e in first] == [e.key for e in again]
    assert first[0].kind == topic
    forged = WebhookRequest(
        {**request.headers, "X-Shopify-Hmac-Sha256": sign(request.body, "other-secret")},
        request.body,
    )
    with pytest.raises(AuthError):
        connector.verify_webhook(forged)
    tampered = json.dumps({**payload, "id": "999"}).encode()
    with pytest.raises(AuthError):
        connector.verify_webhook(WebhookRequest(request.headers, tampered))
