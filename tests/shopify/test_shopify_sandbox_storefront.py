"""The sandbox's Storefront carts over real HTTP: raw GraphQL, then the real ``baskets`` sink.

The rules checked are Shopify's: the cart id carries a key that mutations need and queries
need for the buyer's details (developer changelog, "Storefront API changes when Cart ID is
missing the key param"); unknown merchandise is ``MERCHANDISE_NOT_APPLICABLE`` from 2025-10
(changelog "Cart mutations now return error for invalid merchandise configuration");
``cartAttributesUpdate`` replaces the attribute set.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from graphql import parse, validate

from bridge.connector import BasketLine, BasketWrite, ConnectorContext, WriteBatch
from bridge.model import CustomerRef
from connectors.shopify import ShopifyConnector
from connectors.shopify.sandbox import STOREFRONT_SCHEMA, SandboxServer, demo_seed
from connectors.shopify.storefront import (
    CART_ATTRIBUTES_MUTATION,
    CART_CREATE_MUTATION,
    CART_QUERY,
)

TOKEN = "sandbox-storefront-test"
VARIANT = "gid://shopify/ProductVariant/60001"
CREATE = """
mutation Create($input: CartInput) {
  cartCreate(input: $input) {
    cart {
      id checkoutUrl totalQuantity note
      buyerIdentity { email phone countryCode }
      attribute(key: "brique_code") { value }
      cost { totalAmount { amount currencyCode } }
      lines(first: 10) {
        nodes { quantity merchandise { ... on ProductVariant { id sku } } }
        pageInfo { hasNextPage }
      }
    }
    userErrors { code field message }
  }
}
"""
READ = "query Read($id: ID!) { cart(id: $id) { id buyerIdentity { email } attributes { key } } }"
ATTRIBUTES = """
mutation Attrs($id: ID!, $attributes: [AttributeInput!]!) {
  cartAttributesUpdate(cartId: $id, attributes: $attributes) {
    cart { attributes { key value } }
    userErrors { code field message }
  }
}
"""


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(demo_seed(), storefront_token=TOKEN) as running:
        yield running


def post(
    server: SandboxServer,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    version: str = "2026-01",
    token: str = TOKEN,
) -> requests.Response:
    return requests.post(
        f"{server.url}/api/{version}/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Storefront-Access-Token": token},
        timeout=5,
    )


def create(server: SandboxServer, version: str = "2026-01", **fields: Any) -> dict[str, Any]:
    data = {"lines": [{"merchandiseId": VARIANT, "quantity": 2}], **fields}
    response = post(server, CREATE, {"input": data}, version=version)
    assert response.status_code == 200, response.text
    return response.json()["data"]["cartCreate"]


def test_the_sinks_operations_are_valid_against_the_sandbox_schema() -> None:
    for query in (CART_QUERY, CART_CREATE_MUTATION, CART_ATTRIBUTES_MUTATION):
        assert validate(STOREFRONT_SCHEMA, parse(query)) == []


def test_cart_create_prices_the_lines_and_links_to_a_checkout_page(
    server: SandboxServer,
) -> None:
    payload = create(
        server,
        attributes=[{"key": "brique_code", "value": "K7M4QXZ3"}],
        buyerIdentity={"email": "ana@example.com", "phone": "+33612345678", "countryCode": "FR"},
        note="from the store",
    )
    assert payload["userErrors"] == []
    cart = payload["cart"]
    assert cart["id"].startswith("gid://shopify/Cart/c1-") and "?key=" in cart["id"]
    assert cart["totalQuantity"] == 2 and cart["note"] == "from the store"
    assert cart["attribute"] == {"value": "K7M4QXZ3"}
    assert cart["buyerIdentity"]["email"] == "ana@example.com"
    (line,) = cart["lines"]["nodes"]
    assert line["merchandise"] == {"id": VARIANT, "sku": "SKU-00001"}
    price = Decimal(server.state.variant_for("SKU-00001")["price"])
    assert Decimal(cart["cost"]["totalAmount"]["amount"]) == price * 2
    page = requests.get(cart["checkoutUrl"], timeout=5)
    assert page.status_code == 200 and "K7M4QXZ3" in page.text and "SKU-00001" in page.text
    (row,) = server.carts.rows()
    assert row["code"] == "K7M4QXZ3" and row["lines"] == [{"sku": "SKU-00001", "quantity": 2}]


def test_cart_id_without_its_key_hides_the_buyer_and_cannot_be_changed(
    server: SandboxServer,
) -> None:
    cart_id = create(server, buyerIdentity={"email": "ana@example.com"})["cart"]["id"]
    bare = cart_id.split("?")[0]
    keyed = post(server, READ, {"id": cart_id}).json()["data"]["cart"]
    unkeyed = post(server, READ, {"id": bare}).json()["data"]["cart"]
    assert keyed["buyerIdentity"]["email"] == "ana@example.com"
    assert unkeyed["buyerIdentity"]["email"] is None
    attributes = [{"key": "a", "value": "1"}]
    refused = post(server, ATTRIBUTES, {"id": bare, "attributes": attributes}).json()
    (error,) = refused["data"]["cartAttributesUpdate"]["userErrors"]
    assert error["message"] == "The specified cart does not exist."
    unknown = post(server, READ, {"id": "gid://shopify/Cart/c1-nope?key=x"}).json()
    assert unknown["data"]["cart"] is None


def test_attributes_update_replaces_the_whole_set(server: SandboxServer) -> None:
    attributes = [{"key": "brique_code", "value": "K7M4QXZ3"}, {"key": "gift", "value": "yes"}]
    cart_id = create(server, attributes=attributes)["cart"]["id"]
    answer = post(
        server, ATTRIBUTES, {"id": cart_id, "attributes": [{"key": "x", "value": "1"}]}
    ).json()
    assert answer["data"]["cartAttributesUpdate"]["cart"]["attributes"] == [
        {"key": "x", "value": "1"}
    ]


def test_refusals_follow_the_api_version_and_create_nothing(server: SandboxServer) -> None:
    lines = [{"merchandiseId": "gid://shopify/ProductVariant/1", "quantity": 1}]
    new = create(server, lines=lines)
    old = create(server, version="2025-07", lines=lines)
    assert new["cart"] is None and new["userErrors"][0]["code"] == "MERCHANDISE_NOT_APPLICABLE"
    assert old["userErrors"][0]["code"] == "INVALID"
    assert old["userErrors"][0]["field"] == ["input", "lines", "0", "merchandiseId"]
    local = create(server, buyerIdentity={"phone": "06 12 34 56 78"})
    assert local["userErrors"][0]["field"] == ["input", "buyerIdentity", "phone"]
    zero = create(server, lines=[{"merchandiseId": VARIANT, "quantity": 0}])
    assert zero["userErrors"][0]["field"] == ["input", "lines", "0", "quantity"]
    assert server.carts.rows() == []


def test_wrong_storefront_token_is_401_and_the_admin_token_does_not_open_it(
    server: SandboxServer,
) -> None:
    assert post(server, READ, {"id": "gid://shopify/Cart/x"}, token="nope").status_code == 401
    assert (
        post(server, READ, {"id": "gid://shopify/Cart/x"}, token=server.access_token).status_code
        == 401
    )


def test_basket_handoff_end_to_end_through_the_sandbox(server: SandboxServer) -> None:
    connector = ShopifyConnector(
        {
            "shop_url": server.url,
            "access_token": server.access_token,
            "storefront_token": TOKEN,
            "storefront_country": "FR",
        },
        ConnectorContext(connection="webshop"),
    )
    item = BasketWrite(
        code="K7M4QXZ3",
        currency="EUR",
        lines=(
            BasketLine(sku="SKU-00003", quantity=Decimal(1)),
            BasketLine(sku="SKU-00004", quantity=Decimal(3)),
        ),
        customer=CustomerRef(email="ana@example.com", phone="+33 6 12 34 56 78"),
    )
    try:
        opened = connector.write("baskets", WriteBatch("h-1", [item]))
        again = connector.write("baskets", WriteBatch("h-1", [item]))
        assert opened.failed == {} and again.observed == opened.observed
        (row,) = server.carts.rows()
        assert row["lines"] == [
            {"sku": "SKU-00003", "quantity": 1},
            {"sku": "SKU-00004", "quantity": 3},
        ]
        assert row["buyer"] == {
            "email": "ana@example.com",
            "phone": "+33612345678",
            "countryCode": "FR",
        }
        assert opened.observed["K7M4QXZ3"]["url"] == row["checkout_url"]
        closing = item.model_copy(update={"action": "close"})
        closed = connector.write("baskets", WriteBatch("c-1", [closing]))
        assert closed.observed["K7M4QXZ3"]["closed"] is True
        (row,) = server.carts.rows()
        assert row["status"] == "converted" and row["code"] == "K7M4QXZ3"
        assert server.carts.stats["carts_created"] == 1
        assert server.carts.stats["cart_updates"] == 1
    finally:
        connector.close()


def test_admin_endpoint_and_stock_page_still_work_beside_the_storefront(
    server: SandboxServer,
) -> None:
    create(server, attributes=[{"key": "brique_code", "value": "K7M4QXZ3"}])
    page = requests.get(server.url, timeout=5)
    assert page.status_code == 200 and "Storefront carts" in page.text and "K7M4QXZ3" in page.text
    shop = requests.post(
        f"{server.url}/admin/api/2026-01/graphql.json",
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": server.access_token},
        timeout=5,
    )
    assert shop.status_code == 200 and shop.json()["data"]["shop"]["name"]
