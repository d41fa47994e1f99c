"""Price writes (sink "prices") against a scripted Admin GraphQL API (``responses``, no network).

Prices go out through ``productVariantsBulkUpdate``, one call per product; result keys are SKUs.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import responses
from shopify_fakes import (
    GRAPHQL_URL,
    FakeClock,
    ScriptedShop,
    UniqueBindings,
    cost,
    make_config,
    price_writes,
    throttled_body,
)

from bridge.connector import ConnectorContext, PriceWrite, StockWrite, WriteBatch
from bridge.errors import DataError, RateLimited
from bridge.model import Money
from connectors.shopify import ShopifyConnector
from connectors.shopify.connector import MAX_PRICE_BATCH, SET_PRICES_MUTATION
from connectors.shopify.graphql import estimate_cost
from connectors.shopify.payloads import PRODUCT_VARIANT_ENTITY


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


# -- grouping and payload -------------------------------------------------------------------


def test_one_call_per_product_with_the_mapping_fields_as_they_are(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    # 000000-000002 are one product, 000003-000005 the next (three variants per product).
    items = price_writes(["000004", "000000", "000001", "000005"], "19.99", price="19.99")
    items[0] = PriceWrite(
        sku="000004", price=eur("24.00"), fields={"price": "24.00", "compareAtPrice": "30.00"}
    )
    result = connector.write("prices", WriteBatch("p-1", items))
    assert result.written == 4 and result.failed == {}
    calls = shop.operations("BriqueSetPrices")
    product_a, _ = shop.ids("000000")
    product_b, _ = shop.ids("000004")
    assert [call["productId"] for call in calls] == [product_b, product_a]
    assert calls[0]["variants"] == [
        {"price": "24.00", "compareAtPrice": "30.00", "id": shop.ids("000004")[1]},
        {"price": "19.99", "id": shop.ids("000005")[1]},
    ]
    assert calls[1]["variants"] == [
        {"price": "19.99", "id": shop.ids("000000")[1]},
        {"price": "19.99", "id": shop.ids("000001")[1]},
    ]
    assert result.observed["000004"] == {
        "price": Decimal("24.00"),
        "compareAtPrice": Decimal("30.00"),
    }


def test_fields_are_derived_from_the_money_when_the_mapping_gave_none(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    items = [
        PriceWrite(sku="000000", price=eur("19.90"), compare_at=eur("25")),
        PriceWrite(sku="000001", price=eur("9.5")),
    ]
    assert connector.write("prices", WriteBatch("d", items)).written == 2
    (call,) = shop.operations("BriqueSetPrices")
    assert call["variants"] == [
        {"price": "19.90", "compareAtPrice": "25", "id": shop.ids("000000")[1]},
        {"price": "9.5", "id": shop.ids("000001")[1]},
    ]


def test_decimal_fields_become_strings_and_the_variant_id_is_the_connectors(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    item = PriceWrite(
        sku="000000",
        price=eur("19.90"),
        fields={"price": Decimal("19.90"), "compareAtPrice": None, "id": "gid://elsewhere/1"},
    )
    connector.write("prices", WriteBatch("f", [item]))
    (call,) = shop.operations("BriqueSetPrices")
    assert call["variants"] == [
        {"price": "19.90", "compareAtPrice": None, "id": shop.ids("000000")[1]}
    ]


def test_a_product_with_more_variants_than_the_limit_is_split(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.variants_per_product = 1000  # every catalog SKU in one product
    skus = [f"{n:06d}" for n in range(MAX_PRICE_BATCH + 10)]
    result = connector.write("prices", WriteBatch("big", price_writes(skus)))
    assert result.written == MAX_PRICE_BATCH + 10
    sizes = [len(call["variants"]) for call in shop.operations("BriqueSetPrices")]
    assert sizes == [MAX_PRICE_BATCH, 10]


def test_a_later_duplicate_of_a_sku_wins(connector: ShopifyConnector, shop: ScriptedShop) -> None:
    items = [*price_writes(["000000"], "10.00"), *price_writes(["000000"], "12.00")]
    assert connector.write("prices", WriteBatch("dup", items)).written == 1
    (call,) = shop.operations("BriqueSetPrices")
    assert call["variants"] == [{"price": "12.00", "id": shop.ids("000000")[1]}]


def test_an_item_that_is_not_a_price_write_is_a_data_error(connector: ShopifyConnector) -> None:
    with pytest.raises(DataError, match="not a price write"):
        connector.write("prices", WriteBatch("x", [StockWrite(sku="A", location="L", quantity=1)]))


# -- resolution and bindings --------------------------------------------------------------------


def test_unknown_sku_fails_that_sku_not_the_batch(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    result = connector.write("prices", WriteBatch("u", price_writes(["000001", "NOPE-1"])))
    assert result.written == 1
    assert result.failed == {"NOPE-1": "SKU 'NOPE-1' not found in Shopify"}
    (call,) = shop.operations("BriqueSetPrices")
    assert [v["id"] for v in call["variants"]] == [shop.ids("000001")[1]]


def test_lookup_is_batched_once_then_read_from_unique_bindings(shop: ScriptedShop) -> None:
    bindings = UniqueBindings()  # refuses what uq_bindings_external would refuse
    connector = ShopifyConnector(make_config(), ConnectorContext("shop", bindings=bindings))
    skus = ["000000", "000001", "000002", "000003"]  # three variants share one product
    connector.write("prices", WriteBatch("a", price_writes(skus)))
    lookups = shop.operations("BriqueVariantLookup")
    assert [v["query"] for v in lookups] == [
        "sku:'000000' OR sku:'000001' OR sku:'000002' OR sku:'000003'"
    ]
    product, variant = shop.ids("000001")
    assert bindings.get_external(PRODUCT_VARIANT_ENTITY, "000001") == f"{product}|{variant}"
    connector.write("prices", WriteBatch("b", price_writes(skus, "21.00")))
    assert len(shop.operations("BriqueVariantLookup")) == 1  # no second lookup
    assert len(shop.operations("BriqueSetPrices")) == 4  # two products, twice
    assert bindings.puts == 4


# -- userErrors ---------------------------------------------------------------------------------


def test_user_error_on_one_variant_fails_that_sku_and_the_rest_is_resent(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.price_errors.append(
        [
            {
                "code": "GREATER_THAN_OR_EQUAL_TO",
                "field": ["variants", "1", "price"],
                "message": "Price must be greater than or equal to 0",
            }
        ]
    )
    result = connector.write(
        "prices", WriteBatch("e", price_writes(["000000", "000001", "000002"]))
    )
    assert result.written == 2
    assert result.failed == {
        "000001": "GREATER_THAN_OR_EQUAL_TO: Price must be greater than or equal to 0"
    }
    first, second = shop.operations("BriqueSetPrices")
    assert len(first["variants"]) == 3
    assert [v["id"] for v in second["variants"]] == [shop.ids("000000")[1], shop.ids("000002")[1]]
    assert shop.ids("000001")[1] not in shop.prices


def test_unattributed_user_error_fails_the_whole_product_only(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.price_errors += [
        [
            {
                "code": "PRODUCT_DOES_NOT_EXIST",
                "field": ["productId"],
                "message": "Product does not exist",
            }
        ],
        [],
    ]
    items = price_writes(["000000", "000001", "000003"])
    result = connector.write("prices", WriteBatch("g", items))
    assert result.written == 1
    assert set(result.failed) == {"000000", "000001"}
    assert all("PRODUCT_DOES_NOT_EXIST" in m for m in result.failed.values())
    assert len(shop.operations("BriqueSetPrices")) == 2  # not resent


def test_refusals_on_every_resend_stop_after_bounded_attempts(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.variants_per_product = 10
    refusal = [{"code": "INVALID_INPUT", "field": ["variants", "0", "price"], "message": "bad"}]
    shop.price_errors += [refusal] * 4
    skus = [f"{n:06d}" for n in range(5)]
    result = connector.write("prices", WriteBatch("r", price_writes(skus)))
    assert result.written == 0
    assert [len(c["variants"]) for c in shop.operations("BriqueSetPrices")] == [5, 4, 3, 2]
    assert all(result.failed[sku] == "INVALID_INPUT: bad" for sku in skus[:4])
    assert result.failed["000004"] == "shopify kept refusing these prices (4 attempts)"


# -- currency -----------------------------------------------------------------------------------


def test_a_price_in_another_currency_than_the_shops_fails_that_sku(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    items = [*price_writes(["000000"]), *price_writes(["000001"], currency="USD")]
    items.append(
        PriceWrite(
            sku="000002", price=eur("5"), compare_at=Money(amount=Decimal(6), currency="GBP")
        )
    )
    result = connector.write("prices", WriteBatch("c", items))
    assert result.written == 1
    assert set(result.failed) == {"000001", "000002"}
    assert "not in the shop's currency EUR" in result.failed["000001"]
    assert "compare-at price 6 GBP" in result.failed["000002"]


def test_currency_is_asked_once_and_skipped_when_the_shop_does_not_say(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.currency = None
    connector.write("prices", WriteBatch("a", price_writes(["000000"], currency="USD")))
    result = connector.write("prices", WriteBatch("b", price_writes(["000001"], currency="JPY")))
    assert result.written == 1 and result.failed == {}  # no check: nothing to check against
    assert len(shop.operations("BriqueShopCurrency")) == 1


def test_check_teaches_the_currency(connector: ShopifyConnector, shop: ScriptedShop) -> None:
    connector.check()
    result = connector.write("prices", WriteBatch("a", price_writes(["000000"], currency="USD")))
    assert "EUR" in result.failed["000000"]
    assert shop.operations("BriqueShopCurrency") == []


# -- replay, throttling, cost -------------------------------------------------------------------


def test_replayed_batch_writes_the_same_absolute_prices(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    batch = WriteBatch("replay", price_writes(["000000", "000004"], "19.99"))
    first = connector.write("prices", batch)
    state = json.dumps(shop.prices, sort_keys=True)
    again = connector.write("prices", batch)
    assert first.written == again.written == 2
    assert json.dumps(shop.prices, sort_keys=True) == state
    for call in shop.operations("BriqueSetPrices"):
        assert "idempotencyKey" not in call  # none exists for this mutation


def test_mutation_has_no_idempotent_directive() -> None:
    assert "@idempotent" not in SET_PRICES_MUTATION


def test_throttled_price_call_waits_then_is_written(
    connector: ShopifyConnector, shop: ScriptedShop, clock: FakeClock
) -> None:
    connector.check()  # currency known: the next calls are the lookup and the mutation
    connector.write("prices", WriteBatch("warm", price_writes(["000000"])))  # bound now
    shop.before.append((200, throttled_body(requested=13, available=3, restore=50.0)))
    result = connector.write("prices", WriteBatch("t", price_writes(["000001"])))
    assert result.written == 1
    assert sum(clock.sleeps) == pytest.approx(0.2, abs=0.01)
    assert connector.graphql.throttled == 1


def test_http_429_on_prices_is_rate_limited(
    connector: ShopifyConnector, shop: ScriptedShop
) -> None:
    shop.before.append((429, {"errors": "Exceeded 2 calls per second for api client."}))
    with pytest.raises(RateLimited):
        connector.write("prices", WriteBatch("429", price_writes(["000000"])))


def test_estimate_cost_follows_the_documented_dynamic_complexity() -> None:
    # 10 + 0.2 per variant, rounded up, + productVariants (1) + userErrors (1)
    assert estimate_cost(SET_PRICES_MUTATION, {"variants": [{}] * 15}) == 10 + 3 + 2
    assert estimate_cost(SET_PRICES_MUTATION, {"variants": [{}] * 16}) == 10 + 4 + 2
    assert estimate_cost(SET_PRICES_MUTATION, {"variants": [{}] * 250}) == 10 + 50 + 2


# -- Shopify's documented payload shapes --------------------------------------------------------

PRODUCT = "gid://shopify/Product/20995642"
VARIANT_M = "gid://shopify/ProductVariant/1070325197"
VARIANT_L = "gid://shopify/ProductVariant/1070325198"


def graphql_answer(data: dict[str, Any], requested: int) -> dict[str, Any]:
    return {"data": data, "extensions": cost(requested, requested)}


@responses.activate
def test_documented_response_shapes_end_to_end(context: ConnectorContext, clock: FakeClock) -> None:
    responses.post(GRAPHQL_URL, json=graphql_answer({"shop": {"currencyCode": "EUR"}}, 1))
    responses.post(
        GRAPHQL_URL,
        json=graphql_answer(
            {
                "productVariants": {
                    "nodes": [
                        {"id": VARIANT_M, "sku": "BRQ-TEE-M", "product": {"id": PRODUCT}},
                        {"id": VARIANT_L, "sku": "BRQ-TEE-L", "product": {"id": PRODUCT}},
                        # Shopify's search is looser than equality: this one is not asked for.
                        {
                            "id": "gid://shopify/ProductVariant/9",
                            "sku": "BRQ-TEE-M-OLD",
                            "product": {"id": PRODUCT},
                        },
                    ],
                    "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjo5fQ=="},
                }
            },
            6,
        ),
    )
    responses.post(
        GRAPHQL_URL,
        json=graphql_answer(
            {
                "productVariantsBulkUpdate": {
                    "productVariants": [
                        {
                            "id": VARIANT_M,
                            "sku": "BRQ-TEE-M",
                            "price": "19.99",
                            "compareAtPrice": "24.99",
                        },
                    ],
                    "userErrors": [
                        {
                            "code": "GREATER_THAN_OR_EQUAL_TO",
                            "field": ["variants", "1", "price"],
                            "message": "Price must be greater than or equal to 0",
                        }
                    ],
                }
            },
            13,
        ),
    )
    responses.post(
        GRAPHQL_URL,
        json=graphql_answer(
            {
                "productVariantsBulkUpdate": {
                    "productVariants": [
                        {
                            "id": VARIANT_M,
                            "sku": "BRQ-TEE-M",
                            "price": "19.99",
                            "compareAtPrice": "24.99",
                        }
                    ],
                    "userErrors": [],
                }
            },
            13,
        ),
    )
    connector = ShopifyConnector(make_config(), context, clock=clock, sleep=clock.sleep)
    items = [
        PriceWrite(
            sku="BRQ-TEE-M",
            price=eur("19.99"),
            compare_at=eur("24.99"),
            fields={"price": "19.99", "compareAtPrice": "24.99"},
        ),
        PriceWrite(sku="BRQ-TEE-L", price=eur("-1.00"), fields={"price": "-1.00"}),
    ]
    result = connector.write("prices", WriteBatch("doc", items))
    assert result.written == 1
    assert result.failed == {
        "BRQ-TEE-L": "GREATER_THAN_OR_EQUAL_TO: Price must be greater than or equal to 0"
    }
    assert result.observed == {
        "BRQ-TEE-M": {"price": Decimal("19.99"), "compareAtPrice": Decimal("24.99")}
    }
    sent = [json.loads(call.request.body) for call in responses.calls]
    assert sent[2]["variables"] == {
        "productId": PRODUCT,
        "variants": [
            {"price": "19.99", "compareAtPrice": "24.99", "id": VARIANT_M},
            {"price": "-1.00", "id": VARIANT_L},
        ],
    }
    assert sent[3]["variables"]["variants"] == [
        {"price": "19.99", "compareAtPrice": "24.99", "id": VARIANT_M}
    ]
    assert (
        "productVariantsBulkUpdate(productId: $productId, variants: $variants)" in sent[2]["query"]
    )
