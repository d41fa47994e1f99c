"""Shopify webhooks: HMAC over the raw body, delivery keys, and decoding to canonical bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from shopify_fakes import LOC_A, sign, webhook

from bridge.connector import ConnectorContext, InboundEvent, WebhookRequest
from bridge.errors import AuthError, DataError
from bridge.model import SaleBody, SaleStatus, StockLevelBody
from connectors.shopify import ShopifyConnector

# Payloads in the REST shapes Shopify sends webhooks in (written for these tests).
INVENTORY_LEVEL = {
    "inventory_item_id": 271878346596884015,
    "location_id": 24826418,
    "available": 6,
    "updated_at": "2026-01-15T11:02:53-05:00",
    "admin_graphql_api_id": "gid://shopify/InventoryLevel/24826418?inventory_item_id=271878346596884015",
}

ORDER = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "name": "#9999",
    "email": "jon@example.com",
    "created_at": "2026-01-15T16:15:47-05:00",
    "currency": "EUR",
    "total_price": "403.00",
    "test": False,
    "cancelled_at": None,
    "line_items": [
        {
            "id": 866550311766439020,
            "variant_id": 808950810,
            "title": "IPod Nano - 8GB",
            "name": "IPod Nano - 8GB - pink",
            "sku": "00123",
            "quantity": 1,
            "price": "199.00",
            "total_discount": "0.00",
        },
        {
            "id": 141249953214522974,
            "variant_id": 49148385,
            "title": "IPod Nano - 8GB",
            "name": "IPod Nano - 8GB - red",
            "sku": "IPOD2008RED",
            "quantity": 2,
            "price": "102.00",
            "total_discount": "0.50",
        },
    ],
    "customer": {
        "id": 115310627314723954,
        "email": "john@example.com",
        "phone": "+33612345678",
        "first_name": "John",
        "last_name": "Smith",
    },
}


# -- verification -------------------------------------------------------------------------


def test_good_signature_passes(connector: ShopifyConnector) -> None:
    connector.verify_webhook(webhook("orders/create", ORDER))


def test_header_names_are_case_insensitive(connector: ShopifyConnector) -> None:
    request = webhook("orders/create", ORDER)
    lowered = WebhookRequest({k.lower(): v for k, v in request.headers.items()}, request.body)
    connector.verify_webhook(lowered)


def test_forged_signature_is_refused(connector: ShopifyConnector) -> None:
    request = webhook("orders/create", ORDER)
    forged = WebhookRequest(
        {**request.headers, "X-Shopify-Hmac-Sha256": sign(request.body, "not-the-secret")},
        request.body,
    )
    with pytest.raises(AuthError):
        connector.verify_webhook(forged)


def test_tampered_body_is_refused(connector: ShopifyConnector) -> None:
    request = webhook("orders/create", ORDER)
    tampered = WebhookRequest(request.headers, request.body.replace(b"403.00", b"0.01"))
    with pytest.raises(AuthError):
        connector.verify_webhook(tampered)


def test_missing_signature_is_refused(connector: ShopifyConnector) -> None:
    with pytest.raises(AuthError):
        connector.verify_webhook(webhook("orders/create", ORDER, **{"X-Shopify-Hmac-Sha256": ""}))


# -- parsing --------------------------------------------------------------------------------


def test_parse_keys_by_webhook_id(connector: ShopifyConnector) -> None:
    (event,) = connector.parse_webhook(webhook("orders/create", ORDER))
    assert event.key == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert event.kind == "orders/create"
    assert event.payload["id"] == ORDER["id"]
    assert event.occurred_at == datetime(2026, 1, 15, 16, 15, 48, 123456, tzinfo=UTC)


def test_redelivery_yields_the_same_key(connector: ShopifyConnector) -> None:
    first = connector.parse_webhook(webhook("inventory_levels/update", INVENTORY_LEVEL))
    again = connector.parse_webhook(webhook("inventory_levels/update", INVENTORY_LEVEL))
    assert first[0].key == again[0].key


def test_event_id_is_the_fallback_key(connector: ShopifyConnector) -> None:
    request = webhook("orders/create", ORDER, **{"X-Shopify-Webhook-Id": ""})
    (event,) = connector.parse_webhook(request)
    assert event.key == "98880550-7158-44d4-b7cd-2c97c8a091b5"


def test_no_key_at_all_is_a_data_error(connector: ShopifyConnector) -> None:
    request = webhook(
        "orders/create", ORDER, **{"X-Shopify-Webhook-Id": "", "X-Shopify-Event-Id": ""}
    )
    with pytest.raises(DataError):
        connector.parse_webhook(request)


def test_other_topics_parse_but_do_not_decode(connector: ShopifyConnector) -> None:
    (event,) = connector.parse_webhook(webhook("products/update", {"id": 1}))
    assert event.kind == "products/update"
    with pytest.raises(DataError, match="topic not handled"):
        connector.decode(event)


# -- decoding -------------------------------------------------------------------------------


def test_decode_inventory_level_through_bindings(
    connector: ShopifyConnector, context: ConnectorContext
) -> None:
    context.bindings.put(
        "inventory_item", "00042", "gid://shopify/InventoryItem/271878346596884015"
    )
    event = InboundEvent(key="w1", kind="inventory_levels/update", payload=INVENTORY_LEVEL)
    (body,) = connector.decode(event)
    assert isinstance(body, StockLevelBody)
    assert body.level.sku == "00042"
    assert body.level.location == LOC_A
    assert body.level.on_hand == Decimal(6)


def test_decode_inventory_level_of_unknown_item_is_a_data_error(
    connector: ShopifyConnector,
) -> None:
    event = InboundEvent(key="w1", kind="inventory_levels/update", payload=INVENTORY_LEVEL)
    with pytest.raises(DataError, match="not bound"):
        connector.decode(event)


def test_decode_order_into_a_web_sale(connector: ShopifyConnector) -> None:
    (event,) = connector.parse_webhook(webhook("orders/create", ORDER))
    (body,) = connector.decode(event)
    assert isinstance(body, SaleBody)
    sale = body.sale
    assert sale.key.store == "brique-test.myshopify.com"
    assert sale.key.transaction_id == "820982911946154508"
    assert sale.status is SaleStatus.COMPLETED and sale.channel == "web"
    assert sale.currency == "EUR"
    assert sale.occurred_at is not None and sale.occurred_at.year == 2026
    first, second = sale.lines
    assert first.sku == "00123"  # a string, zeros kept
    assert first.unit_price is not None and first.unit_price.amount == Decimal("199.00")
    assert isinstance(first.unit_price.amount, Decimal)
    assert second.quantity == Decimal(2)
    assert second.discount is not None and second.discount.amount == Decimal("0.50")
    assert sale.total is not None and sale.total.amount == Decimal("403.00")
    assert sale.customer is not None and sale.customer.email == "john@example.com"
    assert sale.customer.channel_ids == {"shopify": "115310627314723954"}
    assert len(sale.stock_lines()) == 2


def test_decode_test_order_does_not_move_stock(connector: ShopifyConnector) -> None:
    event = InboundEvent(key="w", kind="orders/create", payload={**ORDER, "test": True})
    (body,) = connector.decode(event)
    assert isinstance(body, SaleBody)
    assert body.sale.status is SaleStatus.TRAINING and body.sale.stock_lines() == ()


def test_decode_order_line_without_sku_is_a_data_error(connector: ShopifyConnector) -> None:
    lines = [{**ORDER["line_items"][0], "sku": ""}]
    event = InboundEvent(key="w", kind="orders/create", payload={**ORDER, "line_items": lines})
    with pytest.raises(DataError, match="no SKU"):
        connector.decode(event)


def test_decode_numeric_sku_becomes_a_string(connector: ShopifyConnector) -> None:
    lines = [{**ORDER["line_items"][0], "sku": 123}]
    event = InboundEvent(key="w", kind="orders/create", payload={**ORDER, "line_items": lines})
    (body,) = connector.decode(event)
    assert isinstance(body, SaleBody)
    assert body.sale.lines[0].sku == "123"
