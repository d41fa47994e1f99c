"""The sandbox itself, spoken to in raw GraphQL: it must behave like Shopify where we rely on it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from bridge.connector import ConnectorContext, StockWrite, WriteBatch
from connectors.shopify import ShopifyConfig, ShopifyConnector
from connectors.shopify.sandbox import SandboxServer, demo_seed

TOKEN = "shpat_sandbox_api"
ITEM = "gid://shopify/InventoryItem/40001"
LOCATION = "gid://shopify/Location/1001"
SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    userErrors { code field message }
  }
}
"""
SET_WITHOUT_KEY = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { userErrors { code field message } }
}
"""


class Frozen:
    """A clock that stands still, so the bucket never refills during a test."""

    def __call__(self) -> float:
        return 0.0


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(demo_seed(300), access_token=TOKEN) as running:
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
        f"{server.url}/admin/api/{version}/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
        timeout=5,
    )


def quantity(**fields: Any) -> dict[str, Any]:
    return {"inventoryItemId": ITEM, "locationId": LOCATION, "quantity": 4, **fields}


def set_input(*quantities: dict[str, Any], reason: str = "correction") -> dict[str, Any]:
    return {"name": "available", "reason": reason, "quantities": list(quantities)}


def user_errors(response: requests.Response) -> list[dict[str, Any]]:
    return response.json()["data"]["inventorySetQuantities"]["userErrors"]


def test_wrong_token_gets_shopify_401(server: SandboxServer) -> None:
    response = post(server, "{ shop { name } }", token="nope")
    assert response.status_code == 401
    assert response.json()["errors"].startswith("[API] Invalid API key or access token")


def test_every_answer_carries_its_cost(server: SandboxServer) -> None:
    body = post(server, "{ shop { name } }").json()
    assert body["data"]["shop"]["name"]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


def test_invalid_query_is_refused_by_validation(server: SandboxServer) -> None:
    body = post(server, "{ shop { nmae } }").json()
    assert "nmae" in body["errors"][0]["message"]


def test_empty_bucket_answers_throttled_with_http_200() -> None:
    with SandboxServer(demo_seed(), access_token=TOKEN, max_available=3, clock=Frozen()) as srv:
        assert post(srv, "{ shop { name } }").json()["data"]
        assert post(srv, "{ shop { name } }").json()["data"]
        assert post(srv, "{ shop { name } }").json()["data"]
        response = post(srv, "{ shop { name } }")
        assert response.status_code == 200
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert body["extensions"]["cost"]["actualQueryCost"] is None
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
        assert srv.state.stats["throttled"] == 1


def test_query_above_the_single_query_limit_is_refused(server: SandboxServer) -> None:
    # 2 + 250 x (variant 1 + inventoryItem 1 + variant 1 + inventoryItem 1) = 1,002 points
    query = """{ productVariants(first: 250) {
      nodes { inventoryItem { variant { inventoryItem { id } } } } } }"""
    body = post(server, query).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_product_variants_filter_and_pages(server: SandboxServer) -> None:
    query = """
    query($after: String, $search: String) {
      productVariants(first: 2, after: $after, query: $search) {
        nodes { sku }
        pageInfo { hasNextPage endCursor }
      }
    }"""
    search = "sku:'SKU-00001' OR sku:\"SKU-00002\" OR sku:SKU-00003"
    first = post(server, query, {"search": search}).json()["data"]["productVariants"]
    assert [n["sku"] for n in first["nodes"]] == ["SKU-00001", "SKU-00002"]
    assert first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    second = post(server, query, {"after": after, "search": search}).json()["data"][
        "productVariants"
    ]
    assert [n["sku"] for n in second["nodes"]] == ["SKU-00003"]
    assert second["pageInfo"]["hasNextPage"] is False


def test_change_from_quantity_compare_and_swap(server: SandboxServer) -> None:
    stale = post(server, SET, {"input": set_input(quantity(changeFromQuantity=9)), "key": "a"})
    assert user_errors(stale) == [
        {
            "code": "CHANGE_FROM_QUANTITY_STALE",
            "field": ["input", "quantities", "0", "changeFromQuantity"],
            "message": "The changeFromQuantity (9) no longer matches the persisted quantity.",
        }
    ]
    fresh = post(server, SET, {"input": set_input(quantity(changeFromQuantity=0)), "key": "b"})
    assert user_errors(fresh) == []
    opt_out = post(server, SET, {"input": set_input(quantity(changeFromQuantity=None)), "key": "c"})
    assert user_errors(opt_out) == []


def test_older_compare_quantity_rules_before_2026_04(server: SandboxServer) -> None:
    missing = post(server, SET, {"input": set_input(quantity()), "key": "a"})
    assert [e["code"] for e in user_errors(missing)] == ["COMPARE_QUANTITY_REQUIRED"]
    ignored = {**set_input(quantity()), "ignoreCompareQuantity": True}
    assert user_errors(post(server, SET, {"input": ignored, "key": "b"})) == []


def test_from_2026_04_change_from_and_idempotency_are_required(server: SandboxServer) -> None:
    missing = post(server, SET, {"input": set_input(quantity()), "key": "a"}, version="2026-04")
    assert [e["code"] for e in user_errors(missing)] == ["CHANGE_FROM_QUANTITY_REQUIRED"]
    no_key = post(
        server,
        SET_WITHOUT_KEY,
        {"input": set_input(quantity(changeFromQuantity=None))},
        version="2026-04",
    )
    assert "@idempotent" in no_key.json()["errors"][0]["message"]


def test_user_errors_are_all_or_nothing(server: SandboxServer) -> None:
    good = quantity(changeFromQuantity=None)
    bad = {**quantity(changeFromQuantity=None), "locationId": "gid://shopify/Location/9"}
    response = post(server, SET, {"input": set_input(good, bad, reason="because"), "key": "x"})
    codes = {(e["code"], tuple(e["field"])) for e in user_errors(response)}
    assert codes == {
        ("INVALID_REASON", ("input", "reason")),
        ("INVALID_LOCATION", ("input", "quantities", "1", "locationId")),
    }
    assert server.state.stats["writes_applied"] == 0


def test_idempotency_key_replays_and_mismatches(server: SandboxServer) -> None:
    first = set_input(quantity(changeFromQuantity=None))
    assert user_errors(post(server, SET, {"input": first, "key": "k"})) == []
    assert user_errors(post(server, SET, {"input": first, "key": "k"})) == []
    assert server.state.stats["idempotent_replays"] == 1
    other = set_input(quantity(quantity=5, changeFromQuantity=None))
    mismatch = user_errors(post(server, SET, {"input": other, "key": "k"}))
    assert [e["code"] for e in mismatch] == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]
    assert server.state.stats["writes_applied"] == 1


def test_connector_speaks_2026_04(server: SandboxServer) -> None:
    config = ShopifyConfig.model_validate(
        {"shop_url": server.url, "access_token": TOKEN, "api_version": "2026-04"}
    )
    conn = ShopifyConnector(config, ConnectorContext(connection="sandbox"))
    items = [StockWrite(sku="SKU-00001", location=LOCATION, quantity=Decimal(7))]
    assert conn.write("stock", WriteBatch("v2026-04", items)).written == 1
