"""The WooCommerce connector's config, check, errors and stock writes, against FakeWoo."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
import requests
import responses
from pydantic import ValidationError

from bridge.connector import Capability, ConnectorContext, StockWrite, WriteBatch
from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from connectors.woocommerce import WooCommerceConnector
from connectors.woocommerce.payloads import ITEM_ENTITY
from tests.woocommerce.woo_fakes import (
    API,
    KEY,
    SECRET,
    WEBHOOK_SECRET,
    FakeWoo,
    load,
    make_config,
)


def writes(*items: tuple[str, int] | tuple[str, int, int | None]) -> list[StockWrite]:
    out = []
    for item in items:
        sku, quantity, *rest = item
        previous = rest[0] if rest else None
        out.append(
            StockWrite(
                sku=sku,
                location="default",
                quantity=Decimal(quantity),
                previous=None if previous is None else Decimal(previous),
            )
        )
    return out


# -- contract and configuration -----------------------------------------------------------


def test_info_declares_the_contract() -> None:
    info = WooCommerceConnector.info
    assert info.name == "woocommerce" and info.kind == "shop"
    assert info.capabilities == {
        Capability.WRITE_STOCK,
        Capability.WRITE_PRICES,
        Capability.READ_STOCK,
        Capability.WEBHOOKS,
        Capability.READ_ORDERS,
        Capability.READ_BASKETS,
        Capability.WRITE_RETURNS,
    }
    assert info.batch_limits == {"stock": 100, "prices": 100}


def test_config_defaults_and_refusals() -> None:
    config = make_config(site_url="https://shop.brique.test/")
    assert config.site_url == "https://shop.brique.test"
    assert config.location_id == "default" and config.batch_size == 100
    assert config.dates_are_gmt is True and config.query_string_auth is False
    assert config.store == "shop.brique.test"
    with pytest.raises(ValidationError, match=r"OAuth 1\.0a"):
        make_config(site_url="http://shop.brique.test")
    with pytest.raises(ValidationError):
        make_config(batch_size=101)
    with pytest.raises(ValidationError, match="time zone"):
        make_config(site_timezone="Mars/Olympus")


def test_from_settings_reports_problems_as_config_error() -> None:
    with pytest.raises(ConfigError, match="consumer_secret"):
        WooCommerceConnector.from_settings(
            {"site_url": "https://shop.brique.test", "consumer_key": KEY},
            ConnectorContext(connection="webshop"),
        )


def test_secrets_never_show(
    connector: WooCommerceConnector, woo: FakeWoo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    woo.add_product("TEE-RED-M", 1)
    connector.write("stock", WriteBatch("k", writes(("TEE-RED-M", 4))))
    texts = [repr(connector.config), str(connector.config), repr(connector), caplog.text]
    texts += [repr(connector.client), connector.config.model_dump_json()]
    for text in texts:
        for secret in (KEY, SECRET, WEBHOOK_SECRET):
            assert secret not in text


# -- check and errors -----------------------------------------------------------------------


def test_check_reads_the_store_currency_with_basic_auth(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.currency = "CHF"
    connector.check()
    assert connector.store_currency() == "CHF"
    assert len(woo.requests) == 1  # asked once
    assert woo.requests[0][1] == "/wp-json/wc/v3/settings/general/woocommerce_currency"


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_check_refused_credentials_is_auth_error(
    connector: WooCommerceConnector, status: int
) -> None:
    body = {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": status},
    }
    responses.get(f"{API}/settings/general/woocommerce_currency", status=status, json=body)
    with pytest.raises(AuthError, match="woocommerce_rest_cannot_view"):
        connector.check()
    sent = responses.calls[0].request.headers["Authorization"]
    assert sent.startswith("Basic ") and KEY not in responses.calls[0].request.url


@responses.activate
def test_check_without_rest_route_is_config_error(connector: WooCommerceConnector) -> None:
    body = {
        "code": "rest_no_route",
        "message": "No route was found matching the URL and request method.",
        "data": {"status": 404},
    }
    responses.get(f"{API}/settings/general/woocommerce_currency", status=404, json=body)
    with pytest.raises(ConfigError, match=r"rest_no_route.*permalinks"):
        connector.check()


@responses.activate
def test_check_against_a_non_woocommerce_page_is_config_error(
    connector: WooCommerceConnector,
) -> None:
    responses.get(
        f"{API}/settings/general/woocommerce_currency", body="<html>Hello</html>", status=200
    )
    with pytest.raises(ConfigError, match="WooCommerce JSON"):
        connector.check()


@responses.activate
def test_429_is_rate_limited_with_retry_after(connector: WooCommerceConnector) -> None:
    responses.get(
        f"{API}/settings/general/woocommerce_currency",
        status=429,
        headers={"Retry-After": "12"},
        json={"code": "too_many_requests", "message": "Slow down", "data": {"status": 429}},
    )
    with pytest.raises(RateLimited) as caught:
        connector.check()
    assert caught.value.retry_after == 12


@responses.activate
def test_5xx_and_timeouts_are_transient(connector: WooCommerceConnector) -> None:
    url = f"{API}/settings/general/woocommerce_currency"
    responses.get(url, status=503, body="Service Unavailable")
    with pytest.raises(TransientError):
        connector.check()
    assert len(responses.calls) == 3  # bridge.http's short retries, then the worker's turn
    responses.replace(responses.GET, url, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TransientError, match="timed out"):
        connector.check()


@responses.activate
def test_query_string_auth_never_shows_the_secret(context: ConnectorContext) -> None:
    connector = WooCommerceConnector(make_config(query_string_auth=True), context)
    responses.get(
        f"{API}/settings/general/woocommerce_currency",
        status=404,
        json={"code": "rest_no_route", "message": "No route", "data": {"status": 404}},
    )
    with pytest.raises(ConfigError) as caught:
        connector.check()
    request = responses.calls[0].request
    assert "consumer_secret=" in request.url and "Authorization" not in request.headers
    assert SECRET not in str(caught.value) and KEY not in str(caught.value)
    assert caught.value.__cause__ is None


# -- stock: SKU resolution ------------------------------------------------------------------


def test_skus_resolve_to_products_and_variations_once(
    connector: WooCommerceConnector, woo: FakeWoo, context: ConnectorContext
) -> None:
    tee = woo.add_product("TEE-RED-M", 7, product_id=1204)
    jeans = woo.add_variation(1300, "JEANS-32-34", 3, variation_id=1311)
    result = connector.write(
        "stock", WriteBatch("push-1", writes(("TEE-RED-M", 5), ("JEANS-32-34", 2)))
    )
    assert result.written == 2 and not result.failed and not result.stale
    assert tee["stock_quantity"] == 5 and jeans["stock_quantity"] == 2
    assert result.observed == {"TEE-RED-M@default": Decimal(5), "JEANS-32-34@default": Decimal(2)}
    lookups = woo.calls("GET", "/products")
    assert len(lookups) == 1
    assert set(lookups[0]["sku"].split(",")) == {"TEE-RED-M", "JEANS-32-34"}
    assert lookups[0]["_fields"] == "id,sku,type,parent_id,manage_stock,stock_quantity"
    assert context.bindings.get_external(ITEM_ENTITY, "TEE-RED-M") == "1204"
    assert context.bindings.get_external(ITEM_ENTITY, "JEANS-32-34") == "1300/1311"
    endpoints = {endpoint: updates for endpoint, updates in woo.batches}
    assert endpoints["products"] == [{"id": 1204, "manage_stock": True, "stock_quantity": 5}]
    assert endpoints["products/1300/variations"] == [
        {"id": 1311, "manage_stock": True, "stock_quantity": 2}
    ]
    # Second push: ids come from the bindings, no lookup.
    connector.write("stock", WriteBatch("push-2", writes(("TEE-RED-M", 4))))
    assert len(woo.calls("GET", "/products")) == 1


def test_unknown_and_shared_skus_fail_alone(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    woo.add_product("TEE-RED-M", 7)
    woo.add_product("DUP", 1)
    woo.add_product("DUP", 2)
    result = connector.write(
        "stock", WriteBatch("k", writes(("TEE-RED-M", 6), ("NOPE", 1), ("DUP", 3)))
    )
    assert result.written == 1
    assert "not found" in result.failed["NOPE@default"]
    assert "shared by 2" in result.failed["DUP@default"]


def test_other_locations_and_fractions_are_refused(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.add_product("A", 1)
    items = [
        StockWrite(sku="A", location="gid://shopify/Location/1", quantity=Decimal(2)),
        StockWrite(sku="A", location="default", quantity=Decimal("2.5")),
    ]
    result = connector.write("stock", WriteBatch("k", items))
    assert "one stock per product" in result.failed["A@gid://shopify/Location/1"]
    assert "whole number" in result.failed["A@default"]
    assert not woo.batches


def test_250_items_go_in_three_calls_of_at_most_100(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    skus = [f"{n:06d}" for n in range(250)]
    for sku in skus:
        woo.add_product(sku, 0)
    result = connector.write("stock", WriteBatch("big", writes(*[(s, 9) for s in skus])))
    assert result.written == 250 and not result.failed
    assert woo.batch_sizes() == [100, 100, 50]
    assert all(i["stock_quantity"] == 9 for i in woo.items.values())
    # 250 SKUs looked up 50 at a time, one page each.
    assert len(woo.calls("GET", "/products")) == 5


def test_variations_are_batched_per_parent(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    for n in range(150):
        woo.add_variation(1300, f"J-{n:03d}", 1)
    for n in range(3):
        woo.add_variation(1400, f"K-{n:03d}", 1)
    items = writes(*[(f"J-{n:03d}", 4) for n in range(150)], *[(f"K-{n:03d}", 4) for n in range(3)])
    result = connector.write("stock", WriteBatch("k", items))
    assert result.written == 153
    assert [(e, len(u)) for e, u in woo.batches] == [
        ("products/1300/variations", 100),
        ("products/1300/variations", 50),
        ("products/1400/variations", 3),
    ]


def test_a_refused_item_fails_alone(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    woo.add_product("A", 1)
    bad = woo.add_product("B", 1)
    woo.add_product("C", 1)
    woo.refusals[bad["id"]] = {
        "code": "woocommerce_rest_product_not_editable",
        "message": "This product cannot be edited.",
        "data": {"status": 400},
    }
    result = connector.write("stock", WriteBatch("k", writes(("A", 5), ("B", 5), ("C", 5))))
    assert result.written == 2
    assert result.failed == {
        "B@default": "woocommerce_rest_product_not_editable: This product cannot be edited."
    }


@responses.activate
def test_the_documented_mixed_batch_answer(
    connector: WooCommerceConnector, context: ConnectorContext
) -> None:
    """Per-item errors as WooCommerce core answers them: ``{"id", "error": {...}}``."""
    for sku, external in (("TEE-RED-M", "1204"), ("GONE", "1250"), ("BAD", "1260")):
        context.bindings.put(ITEM_ENTITY, sku, external)
    responses.post(f"{API}/products/batch", json=load("batch_update_mixed.json"))
    # The refused id is looked up again: the SKU no longer exists.
    responses.get(f"{API}/products", json=[], headers={"X-WP-TotalPages": "0"})
    result = connector.write(
        "stock", WriteBatch("k", writes(("TEE-RED-M", 5), ("GONE", 1), ("BAD", 2)))
    )
    assert result.written == 1
    assert result.observed == {"TEE-RED-M@default": Decimal(5)}
    assert result.failed["BAD@default"].startswith("rest_invalid_param")
    assert "not found" in result.failed["GONE@default"]


def test_a_stale_binding_is_looked_up_again(
    connector: WooCommerceConnector, woo: FakeWoo, context: ConnectorContext
) -> None:
    context.bindings.put(ITEM_ENTITY, "TEE-RED-M", "999")  # the product was recreated
    tee = woo.add_product("TEE-RED-M", 1, product_id=1204)
    result = connector.write("stock", WriteBatch("k", writes(("TEE-RED-M", 6))))
    assert result.written == 1 and not result.failed
    assert tee["stock_quantity"] == 6
    assert context.bindings.get_external(ITEM_ENTITY, "TEE-RED-M") == "1204"


def test_a_site_with_a_lower_batch_limit_gets_halved_chunks(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.batch_limit = 30
    for n in range(100):
        woo.add_product(f"S{n:03d}", 0)
    result = connector.write(
        "stock", WriteBatch("k", writes(*[(f"S{n:03d}", 2) for n in range(100)]))
    )
    assert result.written == 100 and not result.failed
    assert woo.batch_sizes() == [25, 25, 25, 25]


def test_a_replayed_batch_changes_nothing(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    woo.add_product("A", 1)
    woo.add_variation(1300, "B", 1)
    batch = WriteBatch("replay", writes(("A", 4), ("B", 5)), reference="StockPush/9")
    connector.write("stock", batch)
    assert woo.applied == 2
    again = connector.write("stock", batch)
    assert again.written == 2 and woo.applied == 2


# -- stock: compare-and-set emulation -------------------------------------------------------


def test_previous_is_checked_against_what_the_shop_holds(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.add_product("SAME", 5)  # holds what Brique believes: written
    moved = woo.add_product("MOVED", 3)  # a web order took 2: stale, not written
    woo.add_product("DONE", 8)  # already holds the new quantity (a replay): no call
    woo.add_product("UNMANAGED", None, manage=False)
    items = writes(("SAME", 4, 5), ("MOVED", 4, 5), ("DONE", 8, 9), ("UNMANAGED", 4, 5))
    result = connector.write("stock", WriteBatch("cas", items))
    assert result.stale == {"MOVED@default": Decimal(3), "UNMANAGED@default": None}
    assert result.written == 2 and not result.failed
    assert result.observed == {"SAME@default": Decimal(4), "DONE@default": Decimal(8)}
    assert moved["stock_quantity"] == 3
    assert woo.batch_sizes() == [1]
    assert woo.batches[0][1][0]["stock_quantity"] == 4


def test_previous_reads_are_fresh_even_when_bound(
    connector: WooCommerceConnector, woo: FakeWoo, context: ConnectorContext
) -> None:
    item = woo.add_product("A", 5, product_id=1204)
    context.bindings.put(ITEM_ENTITY, "A", "1204")
    item["stock_quantity"] = 2  # changed in WooCommerce since Brique's last push
    result = connector.write("stock", WriteBatch("cas", writes(("A", 4, 5))))
    assert result.stale == {"A@default": Decimal(2)}
    assert len(woo.calls("GET", "/products")) == 1


def test_a_network_failure_mid_batch_is_transient(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.add_product("A", 1)
    connector.write("stock", WriteBatch("k", writes(("A", 2))))  # binds A
    woo.error = requests.ConnectionError("connection reset")
    with pytest.raises(TransientError):
        connector.write("stock", WriteBatch("k2", writes(("A", 3))))


# -- read_stock -----------------------------------------------------------------------------


def test_read_stock_reports_counted_quantities_only(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.add_product("A", 5)
    woo.add_variation(1300, "B", 0)
    woo.add_variation(1300, "P", None, manage="parent")
    woo.add_product("U", None, manage=False)
    pairs = [("A", "default"), ("B", "default"), ("P", "default"), ("U", "default")]
    pairs += [("NOPE", "default"), ("A", "elsewhere")]
    assert connector.read_stock(pairs) == {
        ("A", "default"): Decimal(5),
        ("B", "default"): Decimal(0),
    }


def test_sku_lookup_follows_pages_and_never_loops(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.page_cap = 2
    for n in range(5):
        woo.add_product("SAME", n)  # five products sharing a SKU, over three pages
    woo.ignore_paging = False
    result = connector.write("stock", WriteBatch("k", writes(("SAME", 1))))
    assert "shared by 5" in result.failed["SAME@default"]
    assert [q["page"] for q in woo.calls("GET", "/products")] == ["1", "2", "3"]
    woo.requests.clear()
    woo.ignore_paging = True  # a server answering page 1 whatever is asked
    connector.read_stock([("SAME", "default")])
    assert len(woo.calls("GET", "/products")) == 2


def test_unknown_sink_is_a_data_error(connector: WooCommerceConnector) -> None:
    with pytest.raises(DataError, match="no sink"):
        connector.write("customers", WriteBatch("k", []))


def test_batch_bodies_are_plain_json(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    woo.add_product("A", 1)
    connector.write("stock", WriteBatch("k", writes(("A", 3))))
    assert (
        json.dumps(woo.batches[0][1]) == '[{"id": 3001, "manage_stock": true, "stock_quantity": 3}]'
    )


def test_mapped_stock_fields_ride_along(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    woo.add_product("A", 1)
    item = StockWrite(
        sku="A",
        location="default",
        quantity=Decimal(3),
        fields={"backorders": "notify", "stock_quantity": 99, "id": 1, "manage_stock": False},
    )
    connector.write("stock", WriteBatch("k", [item]))
    assert woo.batches[0][1] == [
        {"id": 3001, "backorders": "notify", "manage_stock": True, "stock_quantity": 3}
    ]
