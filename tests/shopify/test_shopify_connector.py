"""The Shopify connector against a scripted Admin GraphQL API (``responses``, no network)."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
import requests
import responses
from pydantic import ValidationError
from shopify_fakes import (
    GRAPHQL_URL,
    LOC_A,
    LOC_B,
    TOKEN,
    FakeClock,
    ScriptedShop,
    cost,
    make_config,
    stock_writes,
    throttled_body,
)

from bridge.connector import Capability, ConnectorContext, StockWrite, WriteBatch
from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from connectors.shopify import ShopifyConnector
from connectors.shopify.connector import SET_QUANTITIES_MUTATION, SKU_LOOKUP_QUERY
from connectors.shopify.graphql import estimate_cost

# -- contract and configuration -----------------------------------------------------------


def test_info_declares_the_contract() -> None:
    info = ShopifyConnector.info
    assert info.name == "shopify" and info.kind == "shop"
    # The loyalty and returns sinks add their own capabilities beside these.
    assert info.capabilities >= {
        Capability.WRITE_STOCK,
        Capability.WRITE_PRICES,
        Capability.READ_STOCK,
        Capability.WEBHOOKS,
        Capability.READ_ORDERS,
        Capability.READ_BASKETS,
        Capability.WRITE_BASKETS,
    }
    limits = info.batch_limits
    assert (limits["stock"], limits["prices"], limits["baskets"]) == (250, 250, 25)


def test_config_defaults_and_limits() -> None:
    config = make_config(shop_url="https://x.myshopify.com/")
    assert config.graphql_url == "https://x.myshopify.com/admin/api/2026-01/graphql.json"
    assert config.stock_batch_size == 250 and config.reason == "correction"
    assert config.storefront_token is None and config.storefront_country is None
    assert config.storefront_url == "https://x.myshopify.com/api/2026-01/graphql.json"
    pinned = make_config(storefront_api_version="2025-10")
    assert pinned.storefront_url.endswith("/api/2025-10/graphql.json")
    with pytest.raises(ValidationError):
        make_config(storefront_country="france")
    with pytest.raises(ValidationError):
        make_config(stock_batch_size=251)
    with pytest.raises(ValidationError):
        make_config(shop_url="x.myshopify.com")


def test_secrets_never_show(
    connector: ShopifyConnector, shop: ScriptedShop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector.write("stock", WriteBatch("k", stock_writes(["000001"])))
    texts = [repr(connector.config), str(connector.config), repr(connector), caplog.text]
    texts.append(repr(connector.graphql))
    for text in texts:
        assert TOKEN not in text
        assert "whsec_" not in text


# -- check ----------------------------------------------------------------------------------


def test_check_asks_for_the_shop(connector: ShopifyConnector, shop: ScriptedShop) -> None:
    connector.check()
    assert shop.calls == [("BriqueCheck", {})]


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_check_refused_credentials_is_auth_error(connector: ShopifyConnector, status: int) -> None:
    responses.post(
        GRAPHQL_URL,
        status=status,
        json={
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        },
    )
    with pytest.raises(AuthError):
        connector.check()
    assert responses.calls[0].request.headers["X-Shopify-Access-Token"] == TOKEN


@responses.activate
def test_access_denied_error_is_auth_error(connector: ShopifyConnector) -> None:
    responses.post(
        GRAPHQL_URL,
        json={
            "errors": [
                {
                    "message": "Access denied for inventorySetQuantities field.",
                    "extensions": {"code": "ACCESS_DENIED", "requiredAccess": "write_inventory"},
                }
            ],
            "data": None,
            "extensions": cost(),
        },
    )
    with pytest.raises(AuthError, match="access denied"):
        connector.check()


@responses.activate
def test_other_graphql_errors_are_data_errors(connector: ShopifyConnector) -> None:
    responses.post(
        GRAPHQL_URL,
        json={
            "errors": [
                {
                    "message": "Field 'shpo' doesn't exist on type 'QueryRoot'",
                    "locations": [{"line": 1, "column": 3}],
                    "extensions": {"code": "undefinedField", "typeName": "QueryRoot"},
                }
            ]
        },
    )
    with pytest.raises(DataError, match="doesn't exist"):
        connector.check()


# -- transport errors -------------------------------------------------------------------------


@responses.activate
def test_http_429_is_rate_limited_with_retry_after(connector: ShopifyConnector) -> None:
    responses.post(
        GRAPHQL_URL,
        status=429,
        headers={"Retry-After": "2.0"},
        body="Exceeded 2 calls per second for api client. Reduce request rates to resume.",
    )
    with pytest.raises(RateLimited) as caught:
        connector.check()
    assert caught.value.retry_after == 2.0
    assert len(responses.calls) == 1  # a rate limit is not retried blindly


@responses.activate
def test_5xx_is_transient_after_short_retries(connector: ShopifyConnector) -> None:
    responses.post(GRAPHQL_URL, status=503, body="Service Unavailable")
    with pytest.raises(TransientError):
        connector.check()
    assert len(responses.calls) == 3


@responses.activate
def test_network_failure_is_transient(connector: ShopifyConnector) -> None:
    responses.post(GRAPHQL_URL, body=requests.ConnectionError("connection reset"))
    with pytest.raises(TransientError):
        connector.check()


@responses.activate
def test_non_json_answer_is_transient(connector: ShopifyConnector) -> None:
    responses.post(GRAPHQL_URL, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(TransientError, match="not JSON"):
        connector.check()


# -- cost throttling ----------------------------------------------------------------------------


def test_throttled_body_waits_as_the_bucket_says_then_retries(
    connector: ShopifyConnector, shop: ScriptedShop, clock: FakeClock
) -> None:
    shop.before.append((200, throttled_body(requested=12, available=2, restore=50.0)))
    result = connector.write("stock", WriteBatch("k1", stock_writes(["000001"])))
    assert result.written == 1
    mutations = shop.operations("BriqueSetStock")
    assert len(mutations) == 1
    # (12 requested - 2 available) / 50 points per second
    assert sum(clock.sleeps) == pytest.approx(0.2, abs=0.01)
    assert connector.graphql.throttled == 1


def test_still_throttled_after_bounded_retries_raises_rate_limited(
    connector: ShopifyConnector, shop: ScriptedShop, clock: FakeClock
) -> None:
    for _ in range(10):
        shop.before.append((200, throttled_body(requested=1, available=0, restore=100.0)))
    with pytest.raises(RateLimited) as caught:
        connector.check()
    assert len(shop.calls) == 4  # first try + 3 inline retries
    assert caught.value.retry_after == pytest.approx(0.01)


def test_limiter_follows_throttle_status_so_the_next_call_waits(
    connector: ShopifyConnector, shop: ScriptedShop, clock: FakeClock
) -> None:
    shop.available = 0  # every answer says the bucket is empty
    shop.restore = 100.0
    connector.check()
    assert clock.sleeps == []
    connector.check()  # costs 1 point: must wait 1/100 s on our side, not be throttled
    assert sum(clock.sleeps) == pytest.approx(0.01, abs=0.001)
    assert connector.graphql.limiter.capacity == 2000.0


def test_estimate_cost_follows_shopify_rules() -> None:
    assert estimate_cost("query BriqueCheck { shop { name } }") == 1
    assert estimate_cost(SKU_LOOKUP_QUERY, {"first": 100}) == 2 + 100 * 2
    assert estimate_cost(SET_QUANTITIES_MUTATION, {}) == 10 + 2


# -- stock writes -------------------------------------------------------------------------------


def test_write_600_items_sends_three_mutations_with_keys_and_reference(
    connector: ShopifyConnector, shop: ScriptedShop, catalog: dict[str, str]
) -> None:
    skus = list(catalog)[:300]
    items = stock_writes(skus, LOC_A, previous=3) + stock_writes(skus, LOC_B)
    result = connector.write(
        "stock", WriteBatch("batch-42", items, reference="Ticket/store 12/tx/0042")
    )
    assert result.written == 600 and result.failed == {}
    mutations = shop.operations("BriqueSetStock")
    assert [len(m["input"]["quantities"]) for m in mutations] == [250, 250, 100]
    assert [m["idempotencyKey"] for m in mutations] == ["batch-42-0", "batch-42-1", "batch-42-2"]
    for mutation in mutations:
        data = mutation["input"]
        assert data["name"] == "available" and data["reason"] == "correction"
        assert data["referenceDocumentUri"] == "gid://brique/Ticket/store%2012%2Ftx%2F0042"
    first = mutations[0]["input"]["quantities"][0]
    assert first == {
        "inventoryItemId": catalog["000000"],
        "locationId": LOC_A,
        "quantity": 5,
        "changeFromQuantity": 3,
    }
    last = mutations[2]["input"]["quantities"][-1]
    assert "changeFromQuantity" in last and last["changeFromQuantity"] is None
    assert result.observed[f"000000@{LOC_A}"] == Decimal(5)
    assert len(result.observed) == 600


def test_mutation_uses_the_idempotent_directive(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, GRAPHQL_URL, callback=shop)
        connector.write("stock", WriteBatch("key-1", stock_writes(["000001"])))
        body = json.loads(mock.calls[-1].request.body)
    assert "@idempotent(key: $idempotencyKey)" in body["query"]
    assert body["variables"]["idempotencyKey"] == "key-1-0"
    assert "referenceDocumentUri" not in body["variables"]["input"]


def test_sku_lookup_is_bulk_and_cached_in_bindings(
    connector: ShopifyConnector,
    shop: ScriptedShop,
    catalog: dict[str, str],
    context: ConnectorContext,
) -> None:
    skus = ["000001", "000002", "000003"]
    connector.write("stock", WriteBatch("a", stock_writes(skus)))
    lookups = shop.operations("BriqueSkuLookup")
    assert len(lookups) == 1
    assert lookups[0]["query"] == "sku:'000001' OR sku:'000002' OR sku:'000003'"
    assert context.bindings.get_external("inventory_item", "000002") == catalog["000002"]
    connector.write("stock", WriteBatch("b", stock_writes(skus, quantity=9)))
    assert len(shop.operations("BriqueSkuLookup")) == 1  # no second lookup
    assert len(shop.operations("BriqueSetStock")) == 2


def test_sku_lookup_is_chunked(connector: ShopifyConnector, shop: ScriptedShop) -> None:
    skus = [f"{n:06d}" for n in range(250)]
    connector.write("stock", WriteBatch("a", stock_writes(skus)))
    lookups = shop.operations("BriqueSkuLookup")
    assert len(lookups) == 3
    assert all(len(v["query"]) <= 2000 and v["first"] <= 250 for v in lookups)


def test_sku_with_quote_is_escaped(connector: ShopifyConnector, shop: ScriptedShop) -> None:
    shop.catalog["O'NEIL-1"] = "gid://shopify/InventoryItem/777"
    result = connector.write("stock", WriteBatch("a", stock_writes(["O'NEIL-1"])))
    assert result.written == 1
    assert shop.operations("BriqueSkuLookup")[0]["query"] == "sku:'O\\'NEIL-1'"


def test_unknown_sku_fails_that_item_not_the_batch(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    result = connector.write("stock", WriteBatch("a", stock_writes(["000001", "NOPE-1"])))
    assert result.written == 1
    assert list(result.failed) == [f"NOPE-1@{LOC_A}"]
    assert "not found in Shopify" in result.failed[f"NOPE-1@{LOC_A}"]
    sent = shop.operations("BriqueSetStock")[0]["input"]["quantities"]
    assert len(sent) == 1


def test_fractional_quantity_fails_that_item(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    items = [
        StockWrite(sku="000001", location=LOC_A, quantity=Decimal("2.5")),
        StockWrite(sku="000002", location=LOC_A, quantity=Decimal("4.000")),
    ]
    result = connector.write("stock", WriteBatch("a", items))
    assert result.written == 1
    assert "whole number" in result.failed[f"000001@{LOC_A}"]
    assert shop.operations("BriqueSetStock")[0]["input"]["quantities"][0]["quantity"] == 4


def test_stale_change_from_quantity_is_reported_not_forced(
    connector: ShopifyConnector, shop: ScriptedShop, catalog: dict[str, str]
) -> None:
    shop.levels[(catalog["000002"], LOC_A)] = 7  # a web sale moved it since Brique looked
    shop.mutation_errors.append(
        [
            {
                "code": "CHANGE_FROM_QUANTITY_STALE",
                "field": ["input", "quantities", "1", "changeFromQuantity"],
                "message": "The changeFromQuantity no longer matches the persisted quantity.",
            }
        ]
    )
    items = stock_writes(["000001", "000002", "000003"], previous=8)
    result = connector.write("stock", WriteBatch("stale", items))
    assert result.written == 2 and result.failed == {}
    assert result.stale == {f"000002@{LOC_A}": Decimal(7)}  # what Shopify holds now
    first, second = shop.operations("BriqueSetStock")
    assert second["idempotencyKey"] != first["idempotencyKey"]
    assert second["idempotencyKey"].startswith("stale-0-")
    resent = [q["inventoryItemId"] for q in second["input"]["quantities"]]
    assert resent == [catalog["000001"], catalog["000003"]]
    levels = shop.operations("BriqueLevels")
    assert len(levels) == 1 and levels[0]["i0"] == catalog["000002"]
    assert shop.levels[(catalog["000002"], LOC_A)] == 7  # not overwritten blindly


def test_stale_items_in_every_retry_are_all_reported(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    stale = {
        "code": "CHANGE_FROM_QUANTITY_STALE",
        "field": ["input", "quantities", "0", "changeFromQuantity"],
        "message": "stale",
    }
    shop.mutation_errors += [[stale], [stale]]
    result = connector.write(
        "stock", WriteBatch("s", stock_writes(["000001", "000002"], previous=1))
    )
    assert result.written == 0 and result.failed == {}
    assert set(result.stale) == {f"000001@{LOC_A}", f"000002@{LOC_A}"}


def test_user_error_fails_the_item_and_the_rest_is_resent(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.mutation_errors.append(
        [
            {
                "code": "INVALID_LOCATION",
                "field": ["input", "quantities", "0", "locationId"],
                "message": "The specified location could not be found.",
            }
        ]
    )
    items = stock_writes(["000001"], "gid://shopify/Location/999") + stock_writes(["000002"])
    result = connector.write("stock", WriteBatch("u", items))
    assert result.written == 1
    assert result.failed == {
        "000001@gid://shopify/Location/999": (
            "INVALID_LOCATION: The specified location could not be found."
        )
    }
    resent = shop.operations("BriqueSetStock")[1]["input"]["quantities"]
    assert [q["locationId"] for q in resent] == [LOC_A]


def test_unattributable_user_error_fails_the_whole_chunk(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.mutation_errors.append(
        [{"code": "INVALID_REASON", "field": ["input", "reason"], "message": "Invalid reason."}]
    )
    result = connector.write("stock", WriteBatch("r", stock_writes(["000001", "000002"])))
    assert result.written == 0
    assert len(result.failed) == 2
    assert all("INVALID_REASON" in message for message in result.failed.values())


def test_concurrent_idempotent_request_is_transient(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.mutation_errors.append(
        [{"code": "IDEMPOTENCY_CONCURRENT_REQUEST", "field": None, "message": "in progress"}]
    )
    with pytest.raises(TransientError):
        connector.write("stock", WriteBatch("c", stock_writes(["000001"])))


def test_unknown_sink_is_a_data_error(connector: ShopifyConnector) -> None:
    with pytest.raises(DataError, match="no sink 'orders'"):
        connector.write("orders", WriteBatch("p", []))


# -- stock reads --------------------------------------------------------------------------------


def test_read_stock_batches_items_with_aliases(
    connector: ShopifyConnector, shop: ScriptedShop, catalog: dict[str, str]
) -> None:
    shop.levels[(catalog["000001"], LOC_A)] = 6
    shop.levels[(catalog["000001"], LOC_B)] = -2
    pairs = [("000001", LOC_A), ("000001", LOC_B), ("000002", LOC_A), ("GHOST", LOC_A)]
    found = connector.read_stock(pairs)
    assert found == {
        ("000001", LOC_A): Decimal(6),
        ("000001", LOC_B): Decimal(-2),
        ("000002", LOC_A): Decimal(0),
    }
    assert all(isinstance(v, Decimal) for v in found.values())
    assert len(shop.operations("BriqueLevels")) == 1


def test_webhook_without_configured_secret_is_config_error(context: ConnectorContext) -> None:
    from bridge.connector import WebhookRequest

    conn = ShopifyConnector(make_config(webhook_secret=None), context)
    with pytest.raises(ConfigError):
        conn.verify_webhook(WebhookRequest(headers={}, body=b"{}"))
