"""The ``baskets`` sink: handed-off baskets as Storefront carts, against a scripted API.

Answers follow Shopify's Storefront API reference: ``cartCreate`` returns ``cart`` and
``userErrors`` (https://shopify.dev/docs/api/storefront/latest/mutations/cartCreate), a cart
id is ``gid://shopify/Cart/<token>?key=<key>`` (developer changelog "Storefront API Cart ID
now includes key param"), ``cart(id:)`` answers null for an unknown cart, and
``cartAttributesUpdate(cartId, attributes)`` replaces the attribute set
(https://shopify.dev/docs/api/storefront/latest/mutations/cartAttributesUpdate).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import responses
from shopify_fakes import (
    GRAPHQL_URL,
    SHOP_URL,
    FakeClock,
    ScriptedShop,
    UniqueBindings,
    make_config,
    operation_of,
)

from bridge.connector import BasketLine, BasketWrite, ConnectorContext, WriteBatch
from bridge.errors import AuthError, ConfigError, DataError, RateLimited
from bridge.model import CustomerRef
from connectors.shopify import ShopifyConnector
from connectors.shopify.payloads import PRODUCT_VARIANT_ENTITY
from connectors.shopify.storefront import CART_TOKEN_ENTITY, STOREFRONT_CART_ENTITY

STOREFRONT_URL = f"{SHOP_URL}/api/2026-01/graphql.json"
STOREFRONT_TOKEN = "storefront-public-token-1234"


class ScriptedStorefront:
    """A ``responses`` callback answering the sink's Storefront operations like Shopify."""

    def __init__(self) -> None:
        self.carts: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.headers: list[dict[str, str]] = []
        self.create_errors: list[list[dict[str, Any]]] = []
        self.before: list[tuple[int, dict[str, Any]]] = []
        self.created = 0

    def operations(self, name: str) -> list[dict[str, Any]]:
        return [variables for op, variables in self.calls if op == name]

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        operation = operation_of(body["query"])
        variables = body.get("variables") or {}
        self.calls.append((operation, variables))
        self.headers.append(dict(request.headers))
        if self.before:
            status, raw = self.before.pop(0)
            return status, {"Content-Type": "application/json"}, json.dumps(raw)
        handler = {
            "BriqueCartCreate": self._create,
            "BriqueCart": self._read,
            "BriqueCartAttributes": self._attributes,
        }[operation]
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": handler(variables)})

    def _cart(self, cart_id: str) -> dict[str, Any]:
        cart = self.carts[cart_id]
        token = cart_id.rsplit("/", 1)[-1].split("?")[0]
        return {
            "id": cart_id,
            "checkoutUrl": f"{SHOP_URL}/cart/c/{token}?key={cart_id.rsplit('=', 1)[-1]}",
            "attributes": [{"key": k, "value": v} for k, v in cart["attributes"].items()],
        }

    def _create(self, variables: dict[str, Any]) -> dict[str, Any]:
        errors = self.create_errors.pop(0) if self.create_errors else []
        if errors:
            return {"cartCreate": {"cart": None, "userErrors": errors}}
        data = variables["input"]
        self.created += 1
        cart_id = f"gid://shopify/Cart/c1-{self.created:032x}?key=secret{self.created}"
        self.carts[cart_id] = {
            "input": data,
            "attributes": {a["key"]: a["value"] for a in data.get("attributes") or ()},
        }
        return {"cartCreate": {"cart": self._cart(cart_id), "userErrors": []}}

    def _read(self, variables: dict[str, Any]) -> dict[str, Any]:
        cart_id = variables["id"]
        return {"cart": self._cart(cart_id) if cart_id in self.carts else None}

    def _attributes(self, variables: dict[str, Any]) -> dict[str, Any]:
        cart_id = variables["cartId"]
        self.carts[cart_id]["attributes"] = {a["key"]: a["value"] for a in variables["attributes"]}
        return {"cartAttributesUpdate": {"cart": self._cart(cart_id), "userErrors": []}}


@pytest.fixture
def bindings() -> UniqueBindings:
    return UniqueBindings()


@pytest.fixture
def sink(bindings: UniqueBindings) -> Iterator[ShopifyConnector]:
    clock = FakeClock()
    config = make_config(storefront_token=STOREFRONT_TOKEN, storefront_country="FR")
    context = ConnectorContext(connection="shopify-test", bindings=bindings)
    conn = ShopifyConnector(config, context, clock=clock, sleep=clock.sleep)
    yield conn
    conn.close()


@pytest.fixture
def storefront(catalog: dict[str, str]) -> Iterator[tuple[ScriptedStorefront, ScriptedShop]]:
    front, admin = ScriptedStorefront(), ScriptedShop(catalog)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, STOREFRONT_URL, callback=front)
        mock.add_callback(responses.POST, GRAPHQL_URL, callback=admin)
        yield front, admin


def basket(code: str = "K7M4QXZ3", **changes: Any) -> BasketWrite:
    data: dict[str, Any] = {
        "code": code,
        "currency": "EUR",
        "lines": (
            BasketLine(sku="000004", quantity=Decimal(2)),
            BasketLine(sku="000007", quantity=Decimal("1.000")),
        ),
        "customer": CustomerRef(email="ana@example.com", phone="+33 6 12 34 56 78"),
        "note": "Handed over at the Lyon store",
    }
    data.update(changes)
    return BasketWrite(**data)


def test_open_creates_a_cart_with_lines_buyer_code_and_note(
    sink: ShopifyConnector,
    storefront: tuple[ScriptedStorefront, ScriptedShop],
    bindings: UniqueBindings,
) -> None:
    front, admin = storefront
    result = sink.write("baskets", WriteBatch("h-1", [basket()]))
    assert result.written == 1 and result.failed == {}
    (call,) = front.operations("BriqueCartCreate")
    data = call["input"]
    assert data["lines"] == [
        {"merchandiseId": admin.ids("000004")[1], "quantity": 2},
        {"merchandiseId": admin.ids("000007")[1], "quantity": 1},
    ]
    assert data["attributes"] == [{"key": "brique_code", "value": "K7M4QXZ3"}]
    assert data["note"] == "Handed over at the Lyon store"
    assert data["buyerIdentity"] == {
        "email": "ana@example.com",
        "phone": "+33612345678",
        "countryCode": "FR",
    }
    assert front.headers[0]["X-Shopify-Storefront-Access-Token"] == STOREFRONT_TOKEN
    assert "X-Shopify-Access-Token" not in front.headers[0]
    observed = result.observed["K7M4QXZ3"]
    cart_id = observed["id"]
    assert cart_id.startswith("gid://shopify/Cart/c1-") and "?key=" in cart_id
    assert observed["url"].startswith(f"{SHOP_URL}/cart/c/")
    assert observed["token"] == cart_id.rsplit("/", 1)[-1].split("?")[0]
    assert bindings.get_external(STOREFRONT_CART_ENTITY, "K7M4QXZ3") == cart_id
    assert bindings.get_internal(CART_TOKEN_ENTITY, observed["token"]) == "K7M4QXZ3"
    # The variants were looked up through the Admin API once and bound like prices.
    assert bindings.get_external(PRODUCT_VARIANT_ENTITY, "000004") is not None


def test_opening_again_returns_the_same_cart_without_creating_one(
    sink: ShopifyConnector, storefront: tuple[ScriptedStorefront, ScriptedShop]
) -> None:
    front, _ = storefront
    first = sink.write("baskets", WriteBatch("h-1", [basket()]))
    again = sink.write("baskets", WriteBatch("h-1", [basket()]))
    assert again.observed == first.observed and again.written == 1
    assert len(front.operations("BriqueCartCreate")) == 1
    assert len(front.operations("BriqueCart")) == 1


def test_open_with_a_known_external_id_reads_that_cart(
    storefront: tuple[ScriptedStorefront, ScriptedShop], catalog: dict[str, str]
) -> None:
    front, _ = storefront
    clock = FakeClock()
    config = make_config(storefront_token=STOREFRONT_TOKEN)
    one = ShopifyConnector(config, ConnectorContext("a"), clock=clock, sleep=clock.sleep)
    first = one.write("baskets", WriteBatch("h-1", [basket()]))
    cart_id = first.observed["K7M4QXZ3"]["id"]
    # Another process, with no binding: Brique's own record of the cart is enough.
    other = ShopifyConnector(config, ConnectorContext("a"), clock=clock, sleep=clock.sleep)
    again = other.write("baskets", WriteBatch("h-2", [basket(external_id=cart_id)]))
    assert again.observed["K7M4QXZ3"]["id"] == cart_id
    assert len(front.operations("BriqueCartCreate")) == 1
    stranger = other.write("baskets", WriteBatch("h-3", [basket("Q2W3E4R5", external_id=cart_id)]))
    assert "belongs to basket K7M4QXZ3" in stranger.failed["Q2W3E4R5"]
    assert len(front.operations("BriqueCartCreate")) == 1


def test_expired_cart_is_created_again(
    sink: ShopifyConnector, storefront: tuple[ScriptedStorefront, ScriptedShop]
) -> None:
    front, _ = storefront
    first = sink.write("baskets", WriteBatch("h-1", [basket()]))
    front.carts.clear()  # Shopify no longer returns it
    again = sink.write("baskets", WriteBatch("h-2", [basket()]))
    assert again.observed["K7M4QXZ3"]["id"] != first.observed["K7M4QXZ3"]["id"]
    assert len(front.operations("BriqueCartCreate")) == 2


def test_refusals_fail_their_basket_only(
    sink: ShopifyConnector, storefront: tuple[ScriptedStorefront, ScriptedShop]
) -> None:
    front, _ = storefront
    front.create_errors = [
        [
            {
                "code": "MERCHANDISE_NOT_APPLICABLE",
                "field": ["input", "lines", "0", "merchandiseId"],
                "message": "The merchandise is out of stock.",
            }
        ]
    ]
    items = [
        basket("AAAA0001"),
        basket("BBBB0002", lines=(BasketLine(sku="NOPE-1", quantity=Decimal(1)),)),
        basket("CCCC0003", lines=(BasketLine(sku="000001", quantity=Decimal("1.5")),)),
        basket("DDDD0004"),
    ]
    result = sink.write("baskets", WriteBatch("h-1", items))
    assert result.written == 1 and set(result.observed) == {"DDDD0004"}
    assert "MERCHANDISE_NOT_APPLICABLE (input.lines.0.merchandiseId)" in result.failed["AAAA0001"]
    assert "'NOPE-1' not found in Shopify" in result.failed["BBBB0002"]
    assert "whole number" in result.failed["CCCC0003"]
    assert len(front.operations("BriqueCartCreate")) == 2  # the refused ones never sent


def test_local_phone_is_left_out_and_no_customer_sends_no_buyer(
    sink: ShopifyConnector, storefront: tuple[ScriptedStorefront, ScriptedShop]
) -> None:
    front, _ = storefront
    local = basket(customer=CustomerRef(phone="06 12 34 56 78"))
    anonymous = basket("Q2W3E4R5", customer=None, note="")
    sink.write("baskets", WriteBatch("h-1", [local, anonymous]))
    first, second = front.operations("BriqueCartCreate")
    assert first["input"]["buyerIdentity"] == {"countryCode": "FR"}
    assert second["input"]["buyerIdentity"] == {"countryCode": "FR"}
    assert "note" not in second["input"]


def test_close_marks_the_cart_converted_once_keeping_its_attributes(
    sink: ShopifyConnector, storefront: tuple[ScriptedStorefront, ScriptedShop]
) -> None:
    front, _ = storefront
    opened = sink.write("baskets", WriteBatch("h-1", [basket()]))
    cart_id = opened.observed["K7M4QXZ3"]["id"]
    front.carts[cart_id]["attributes"]["gift"] = "yes"  # set by the buyer meanwhile
    closing = basket(action="close", lines=())
    result = sink.write("baskets", WriteBatch("c-1", [closing]))
    assert result.written == 1 and result.observed["K7M4QXZ3"] == {"id": cart_id, "closed": True}
    (call,) = front.operations("BriqueCartAttributes")
    assert call["cartId"] == cart_id
    assert {(a["key"], a["value"]) for a in call["attributes"]} == {
        ("brique_code", "K7M4QXZ3"),
        ("gift", "yes"),
        ("brique_status", "converted"),
    }
    again = sink.write("baskets", WriteBatch("c-1", [closing]))
    assert again.observed == result.observed
    assert len(front.operations("BriqueCartAttributes")) == 1  # already marked: no write


def test_close_of_a_vanished_cart_is_done_and_of_an_unknown_one_fails(
    sink: ShopifyConnector, storefront: tuple[ScriptedStorefront, ScriptedShop]
) -> None:
    front, _ = storefront
    opened = sink.write("baskets", WriteBatch("h-1", [basket()]))
    front.carts.clear()
    closing = basket(action="close")
    result = sink.write("baskets", WriteBatch("c-1", [closing]))
    assert result.observed["K7M4QXZ3"] == {
        "id": opened.observed["K7M4QXZ3"]["id"],
        "closed": True,
    }
    unknown = sink.write("baskets", WriteBatch("c-2", [basket("ZZZZ0009", action="close")]))
    assert "no Shopify cart is known" in unknown.failed["ZZZZ0009"]
    assert front.operations("BriqueCartAttributes") == []


def test_without_a_storefront_token_the_sink_is_a_config_error(
    connector: ShopifyConnector,
) -> None:
    with pytest.raises(ConfigError, match="storefront_token"):
        connector.write("baskets", WriteBatch("h-1", [basket()]))
    assert connector.write("baskets", WriteBatch("h-2", [])).written == 0


def test_storefront_throttling_and_credentials_go_through_the_error_taxonomy(
    sink: ShopifyConnector, storefront: tuple[ScriptedStorefront, ScriptedShop]
) -> None:
    front, _ = storefront
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    front.before = [(200, throttled)]
    assert sink.write("baskets", WriteBatch("h-1", [basket()])).written == 1
    front.before = [(200, throttled)] * 5
    with pytest.raises(RateLimited):
        sink.write("baskets", WriteBatch("h-2", [basket("Q2W3E4R5")]))
    front.before = [(401, {"errors": [{"message": "", "extensions": {"code": "UNAUTHORIZED"}}]})]
    with pytest.raises(AuthError):
        sink.write("baskets", WriteBatch("h-3", [basket("Q2W3E4R6")]))


def test_a_batch_item_that_is_not_a_basket_is_a_data_error(sink: ShopifyConnector) -> None:
    with pytest.raises(DataError, match="not a basket write"):
        sink.write("baskets", WriteBatch("h-1", [{"code": "X"}]))  # type: ignore[list-item]
