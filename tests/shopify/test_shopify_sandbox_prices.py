"""Prices through the local Shopify test double, over real HTTP: the connector and raw GraphQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.connector import ConnectorContext, PriceWrite, WriteBatch
from bridge.model import Money
from connectors.shopify import ShopifyConfig, ShopifyConnector
from connectors.shopify.connector import SET_PRICES_MUTATION
from connectors.shopify.graphql import estimate_cost
from connectors.shopify.sandbox import SandboxServer, demo_seed, load_seed

TOKEN = "shpat_sandbox_prices"
DEMO_SEED = Path(__file__).resolve().parents[2] / "config" / "demo" / "shopify-seed.json"
READ_BACK = """
query ReadBack($search: String!) {
  productVariants(first: 50, query: $search) {
    nodes { sku price compareAtPrice product { id } }
  }
}
"""
BULK = """
mutation Bulk($productId: ID!, $variants: [ProductVariantsBulkInput!]!, $partial: Boolean) {
  productVariantsBulkUpdate(
    productId: $productId, variants: $variants, allowPartialUpdates: $partial
  ) {
    productVariants { sku price compareAtPrice }
    userErrors { code field message }
  }
}
"""


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def post(
    server: SandboxServer, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = requests.post(
        f"{server.url}/admin/api/2026-01/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": TOKEN},
        timeout=5,
    )
    assert response.status_code == 200
    return response.json()


def read_back(server: SandboxServer, *skus: str) -> dict[str, dict[str, Any]]:
    search = " OR ".join(f"sku:'{sku}'" for sku in skus)
    nodes = post(server, READ_BACK, {"search": search})["data"]["productVariants"]["nodes"]
    return {node["sku"]: node for node in nodes}


def connect(server: SandboxServer) -> ShopifyConnector:
    config = ShopifyConfig.model_validate({"shop_url": server.url, "access_token": TOKEN})
    return ShopifyConnector(config, ConnectorContext(connection="sandbox"))


def variant_id(server: SandboxServer, sku: str) -> str:
    return str(server.state.variant_for(sku)["id"])


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    # demo_seed: two variants per product (SKU-00001/2 in product 1, SKU-00003/4 in 2, ...)
    with SandboxServer(demo_seed(8), access_token=TOKEN) as server:
        yield server


# -- through the connector ----------------------------------------------------------------------


def test_prices_written_are_read_back_one_call_per_product(sandbox: SandboxServer) -> None:
    conn = connect(sandbox)
    items = [
        PriceWrite(sku="SKU-00001", price=eur("19.99"), fields={"price": "19.99"}),
        PriceWrite(sku="SKU-00002", price=eur("21.50"), compare_at=eur("25.00")),
        PriceWrite(sku="SKU-00003", price=eur("7.00"), fields={"price": "7.00"}),
        PriceWrite(sku="SKU-00404", price=eur("1.00")),
    ]
    result = conn.write("prices", WriteBatch("prices-1", items, reference="PriceList/spring"))
    assert result.written == 3
    assert result.failed == {"SKU-00404": "SKU 'SKU-00404' not found in Shopify"}
    found = read_back(sandbox, "SKU-00001", "SKU-00002", "SKU-00003", "SKU-00004")
    assert {sku: (n["price"], n["compareAtPrice"]) for sku, n in found.items()} == {
        "SKU-00001": ("19.99", None),
        "SKU-00002": ("21.50", "25.00"),
        "SKU-00003": ("7.00", None),
        "SKU-00004": ("13.90", None),  # untouched: the seeded price
    }
    calls = sandbox.state.snapshot()["price_history"]
    assert [(c["product"], c["variants"]) for c in calls] == [
        ("gid://shopify/Product/70001", 2),
        ("gid://shopify/Product/70002", 1),
    ]
    assert sandbox.state.stats["throttled"] == 0


def test_a_refused_variant_fails_alone_and_its_siblings_are_written(
    sandbox: SandboxServer,
) -> None:
    conn = connect(sandbox)
    items = [
        PriceWrite(sku="SKU-00001", price=eur("12.00")),
        PriceWrite(sku="SKU-00002", price=eur("-3.00"), fields={"price": "-3.00"}),
    ]
    result = conn.write("prices", WriteBatch("neg", items))
    assert result.written == 1
    assert list(result.failed) == ["SKU-00002"]
    assert result.failed["SKU-00002"].startswith("GREATER_THAN_OR_EQUAL_TO:")
    found = read_back(sandbox, "SKU-00001", "SKU-00002")
    assert found["SKU-00001"]["price"] == "12.00"
    assert found["SKU-00002"]["price"] == "11.90"  # unchanged
    errors = [c["errors"] for c in sandbox.state.snapshot()["price_history"]]
    assert errors == [["GREATER_THAN_OR_EQUAL_TO"], []]  # all-or-nothing, then resent


def test_a_replayed_batch_is_harmless(sandbox: SandboxServer) -> None:
    conn = connect(sandbox)
    batch = WriteBatch(
        "replay",
        [
            PriceWrite(sku="SKU-00005", price=eur("30.00"), compare_at=eur("35.00")),
            PriceWrite(sku="SKU-00006", price=eur("31.00")),
        ],
    )
    first = conn.write("prices", batch)
    before = sandbox.state.price_rows()
    again = conn.write("prices", batch)  # e.g. a worker retried after a lost answer
    assert first.written == again.written == 2
    assert first.failed == again.failed == {}
    assert sandbox.state.price_rows() == before
    assert first.observed == again.observed
    assert first.observed["SKU-00005"] == {
        "price": Decimal("30.00"),
        "compareAtPrice": Decimal("35.00"),
    }


def test_a_price_in_another_currency_is_refused_before_sending() -> None:
    seed = demo_seed(2)
    seed["shop"]["currency"] = "CHF"
    with SandboxServer(seed, access_token=TOKEN) as server:
        conn = connect(server)
        result = conn.write(
            "prices", WriteBatch("chf", [PriceWrite(sku="SKU-00001", price=eur("9"))])
        )
        assert result.written == 0
        assert "shop's currency CHF" in result.failed["SKU-00001"]
        assert server.state.stats["price_mutations"] == 0


# -- the double itself, in raw GraphQL ----------------------------------------------------------


def test_default_is_all_or_nothing_and_partial_updates_apply_the_valid(
    sandbox: SandboxServer,
) -> None:
    variants = [
        {"id": variant_id(sandbox, "SKU-00001"), "price": "11.00"},
        {"id": variant_id(sandbox, "SKU-00002"), "price": "-1"},
    ]
    product = "gid://shopify/Product/70001"
    strict = post(sandbox, BULK, {"productId": product, "variants": variants})
    payload = strict["data"]["productVariantsBulkUpdate"]
    assert payload["userErrors"] == [
        {
            "code": "GREATER_THAN_OR_EQUAL_TO",
            "field": ["variants", "1", "price"],
            "message": "price must be greater than or equal to 0",
        }
    ]
    assert read_back(sandbox, "SKU-00001")["SKU-00001"]["price"] == "10.90"
    partial = post(sandbox, BULK, {"productId": product, "variants": variants, "partial": True})
    payload = partial["data"]["productVariantsBulkUpdate"]
    assert [v["sku"] for v in payload["productVariants"]] == ["SKU-00001"]
    assert read_back(sandbox, "SKU-00001")["SKU-00001"]["price"] == "11.00"


def test_unknown_product_and_foreign_variant_are_user_errors(sandbox: SandboxServer) -> None:
    gone = post(
        sandbox,
        BULK,
        {"productId": "gid://shopify/Product/1", "variants": [{"id": "x", "price": "1"}]},
    )["data"]["productVariantsBulkUpdate"]
    assert [(e["code"], e["field"]) for e in gone["userErrors"]] == [
        ("PRODUCT_DOES_NOT_EXIST", ["productId"])
    ]
    foreign = post(
        sandbox,
        BULK,
        {
            "productId": "gid://shopify/Product/70001",
            "variants": [
                {"price": "1"},
                {"id": variant_id(sandbox, "SKU-00003"), "price": "1"},
            ],
        },
    )["data"]["productVariantsBulkUpdate"]
    assert [(e["code"], e["field"]) for e in foreign["userErrors"]] == [
        ("PRODUCT_VARIANT_ID_MISSING", ["variants", "0", "id"]),
        ("PRODUCT_VARIANT_DOES_NOT_EXIST", ["variants", "1", "id"]),
    ]
    assert sandbox.state.stats["prices_applied"] == 0


def test_a_money_that_is_not_a_number_is_a_graphql_error(sandbox: SandboxServer) -> None:
    body = post(
        sandbox,
        BULK,
        {
            "productId": "gid://shopify/Product/70001",
            "variants": [{"id": variant_id(sandbox, "SKU-00001"), "price": "cheap"}],
        },
    )
    assert "invalid value" in body["errors"][0]["message"]
    assert sandbox.state.stats["prices_applied"] == 0


def test_cost_is_shopifys_dynamic_complexity_and_the_client_estimates_it(
    sandbox: SandboxServer,
) -> None:
    variables = {
        "productId": "gid://shopify/Product/70001",
        "variants": [{"id": variant_id(sandbox, "SKU-00001"), "price": "5"}] * 11,
    }
    body = post(sandbox, SET_PRICES_MUTATION, variables)
    # 10 + ceil(0.2 x 11) + productVariants (1) + userErrors (1)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10 + 3 + 2
    assert estimate_cost(SET_PRICES_MUTATION, variables) == 10 + 3 + 2


# -- seeds, helpers and the page ----------------------------------------------------------------


def test_seeds_give_every_variant_a_product_and_a_price() -> None:
    with SandboxServer(load_seed(DEMO_SEED), access_token=TOKEN) as server:
        rows = {row["sku"]: row for row in server.state.price_rows()}
        assert rows["TSHIRT-RED-M"]["price"] == "0.00"  # the file names no price
        assert rows["TSHIRT-RED-M"]["product"] != rows["TSHIRT-RED-L"]["product"]
        shop = post(server, "{ shop { currencyCode } }")["data"]["shop"]
        assert shop["currencyCode"] == "EUR"
    mapping_form = {"variants": {"A-1": "gid://shopify/InventoryItem/1"}, "locations": []}
    with SandboxServer(mapping_form, access_token=TOKEN) as server:
        (row,) = server.state.price_rows()
        assert (row["sku"], row["price"], row["compare_at_price"]) == ("A-1", "0.00", None)
    seeded = demo_seed(4)
    assert [v["price"] for v in seeded["variants"]] == ["10.90", "11.90", "12.90", "13.90"]
    assert len({v["product"] for v in seeded["variants"]}) == 2


def test_page_and_helper_show_prices(sandbox: SandboxServer) -> None:
    connect(sandbox).write(
        "prices", WriteBatch("page", [PriceWrite(sku="SKU-00001", price=eur("42.00"))])
    )
    rows = requests.get(f"{sandbox.url}/sandbox/prices", timeout=5).json()
    assert rows[0] == {
        "sku": "SKU-00001",
        "variant": "gid://shopify/ProductVariant/60001",
        "product": "gid://shopify/Product/70001",
        "product_title": "Demo product 1",
        "price": "42.00",
        "compare_at_price": None,
        "currency": "EUR",
    }
    page = requests.get(sandbox.url, timeout=5).text
    assert "42.00 EUR" in page and "Recent productVariantsBulkUpdate" in page
    assert "gid://shopify/Product/70001" in page
