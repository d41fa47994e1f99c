"""Webhooks (signature, ping, topics, keys) and decoding orders and products to canonical bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bridge.connector import ConnectorContext, InboundEvent, WebhookRequest
from bridge.errors import AuthError, ConfigError, DataError
from bridge.model import SaleBody, SaleStatus, StockLevelBody
from connectors.woocommerce import WooCommerceConnector
from connectors.woocommerce.payloads import ITEM_ENTITY
from tests.woocommerce.woo_fakes import load, make_config, sign, webhook_headers


def body_of(name: str) -> bytes:
    """The body as WooCommerce sends it: compact JSON, ``/`` escaped as PHP does."""
    return json.dumps(load(name), separators=(",", ":")).replace("/", "\\/").encode()


def delivered(topic: str, name: str, delivery: str = "8f2a61c3d4") -> WebhookRequest:
    body = body_of(name)
    return WebhookRequest(headers=webhook_headers(topic, delivery, body), body=body)


# -- signatures -----------------------------------------------------------------------------


def test_a_signed_delivery_verifies(connector: WooCommerceConnector) -> None:
    connector.verify_webhook(delivered("order.created", "order_processing.json"))


def test_the_signature_covers_the_raw_bytes(connector: WooCommerceConnector) -> None:
    request = delivered("order.created", "order_processing.json")
    redumped = json.dumps(json.loads(request.body), separators=(",", ":")).encode()
    assert redumped != request.body  # PHP's "\/" is gone once re-serialised
    with pytest.raises(AuthError, match="does not match"):
        connector.verify_webhook(WebhookRequest(headers=request.headers, body=redumped))


def test_forged_and_missing_signatures_are_refused(connector: WooCommerceConnector) -> None:
    body = body_of("order_processing.json")
    forged = webhook_headers("order.created", "d1", body, signed=False)
    forged["X-WC-Webhook-Signature"] = sign(body, "not-the-secret")
    with pytest.raises(AuthError, match="does not match"):
        connector.verify_webhook(WebhookRequest(headers=forged, body=body))
    unsigned = webhook_headers("order.created", "d1", body, signed=False)
    with pytest.raises(AuthError, match="without X-WC-Webhook-Signature"):
        connector.verify_webhook(WebhookRequest(headers=unsigned, body=body))


def test_headers_are_read_whatever_their_case(connector: WooCommerceConnector) -> None:
    request = delivered("order.created", "order_processing.json")
    lowered = {k.lower(): v for k, v in request.headers.items()}
    connector.verify_webhook(WebhookRequest(headers=lowered, body=request.body))
    assert connector.parse_webhook(WebhookRequest(headers=lowered, body=request.body))


def test_the_creation_ping_is_accepted_and_yields_nothing(connector: WooCommerceConnector) -> None:
    ping = WebhookRequest(
        headers={
            "User-Agent": "WooCommerce/9.5.1 Hookshot (WordPress/6.7.1)",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=b"webhook_id=14",
    )
    connector.verify_webhook(ping)
    assert connector.parse_webhook(ping) == []


def test_an_unsigned_body_pretending_to_be_a_ping_is_refused(
    connector: WooCommerceConnector,
) -> None:
    for body in (b"webhook_id=14&topic=order.created", b'{"webhook_id": 14}'):
        with pytest.raises(AuthError):
            connector.verify_webhook(WebhookRequest(headers={}, body=body))
    topic_only = {"X-WC-Webhook-Topic": "order.created"}
    with pytest.raises(AuthError):
        connector.verify_webhook(WebhookRequest(headers=topic_only, body=b"webhook_id=14"))


def test_without_a_configured_secret_webhooks_are_a_config_error(
    context: ConnectorContext,
) -> None:
    connector = WooCommerceConnector(make_config(webhook_secret=None), context)
    with pytest.raises(ConfigError, match="webhook_secret"):
        connector.verify_webhook(delivered("order.created", "order_processing.json"))


# -- parsing --------------------------------------------------------------------------------


def test_orders_are_keyed_by_id_and_modification(connector: WooCommerceConnector) -> None:
    (event,) = connector.parse_webhook(delivered("order.updated", "order_processing.json"))
    assert event.kind == "order"
    assert event.key == "order/2051@2026-01-15T10:16:05"
    assert event.occurred_at == datetime(2026, 1, 15, 10, 16, 5, tzinfo=UTC)
    # Another delivery of the same order version is the same inbox row...
    (again,) = connector.parse_webhook(
        delivered("order.updated", "order_processing.json", delivery="other")
    )
    assert again.key == event.key
    # ...and so is the same version read by the orders stream (see test_woocommerce_orders).


def test_product_updates_give_stock_levels_when_counted(connector: WooCommerceConnector) -> None:
    (event,) = connector.parse_webhook(
        delivered("product.updated", "product_variation.json", delivery="a1b2")
    )
    assert event.kind == "product"
    assert event.key == "product/1311/delivery/a1b2"
    (body,) = connector.decode(event)
    assert isinstance(body, StockLevelBody)
    assert (body.level.sku, body.level.location, body.level.on_hand) == (
        "JEANS-32-34",
        "default",
        Decimal(3),
    )


def test_products_without_a_counted_stock_give_nothing(connector: WooCommerceConnector) -> None:
    product = load("product_simple.json")
    product["manage_stock"] = False
    product["stock_quantity"] = None
    body = json.dumps(product).encode()
    request = WebhookRequest(headers=webhook_headers("product.updated", "d", body), body=body)
    assert connector.parse_webhook(request) == []


def test_other_topics_are_acknowledged_and_ignored(connector: WooCommerceConnector) -> None:
    body = b'{"id":2051}'
    request = WebhookRequest(headers=webhook_headers("order.deleted", "d", body), body=body)
    assert connector.parse_webhook(request) == []


def test_unreadable_bodies_are_data_errors(connector: WooCommerceConnector) -> None:
    for body in (b"not json", b"[1, 2]"):
        request = WebhookRequest(headers=webhook_headers("order.created", "d", body), body=body)
        with pytest.raises(DataError):
            connector.parse_webhook(request)
    body = b"{}"
    headers = webhook_headers("order.created", "d", body)
    del headers["X-WC-Webhook-Topic"]
    with pytest.raises(DataError, match="Topic"):
        connector.parse_webhook(WebhookRequest(headers=headers, body=body))


# -- decoding orders ------------------------------------------------------------------------


def decode(connector: WooCommerceConnector, payload: dict) -> SaleBody:
    (body,) = connector.decode(InboundEvent(key="k", kind="order", payload=payload))
    assert isinstance(body, SaleBody)
    return body


def test_a_paid_order_is_a_completed_web_sale(connector: WooCommerceConnector) -> None:
    sale = decode(connector, load("order_processing.json")).sale
    assert sale.channel == "web" and sale.status is SaleStatus.COMPLETED
    assert sale.key.store == "shop.brique.test" and sale.key.transaction_id == "2051"
    assert sale.occurred_at == datetime(2026, 1, 15, 10, 15, 42, tzinfo=UTC)  # the _gmt date
    assert sale.currency == "EUR"
    assert sale.total is not None and sale.total.amount == Decimal("137.76")
    tee, jeans = sale.lines
    assert (tee.line_no, tee.sku, tee.quantity) == ("5101", "TEE-RED-M", Decimal(2))
    assert tee.unit_price is not None and tee.unit_price.amount == Decimal("19.9")
    assert str(tee.unit_price.amount) == "19.9"  # from the JSON number's text, not a float
    assert tee.amount is not None and tee.amount.amount == Decimal("30.90")
    assert tee.discount is not None and tee.discount.amount == Decimal("8.90")
    assert (jeans.sku, jeans.discount, jeans.unit_price.amount) == (  # type: ignore[union-attr]
        "JEANS-32-34",
        None,
        Decimal(79),
    )
    assert sale.customer is not None
    assert sale.customer.email == "camille.martin@example.org"
    assert sale.customer.name == "Camille Martin"
    assert sale.customer.channel_ids == {"woocommerce": "88"}
    (tender,) = sale.tenders
    assert (tender.kind, tender.amount.amount, tender.refund) == (
        "stripe",
        Decimal("137.76"),
        False,
    )
    assert [line.sku for line in sale.stock_lines()] == ["TEE-RED-M", "JEANS-32-34"]


def test_a_refunded_order_is_cancelled_with_its_refund(
    connector: WooCommerceConnector, context: ConnectorContext
) -> None:
    context.bindings.put(ITEM_ENTITY, "TEE-RED-M", "1204")  # the line lost its SKU since
    sale = decode(connector, load("order_refunded.json")).sale
    assert sale.status is SaleStatus.CANCELLED and sale.stock_lines() == ()
    assert sale.lines[0].sku == "TEE-RED-M"
    payment, refund = sale.tenders
    assert (payment.kind, payment.amount.amount, payment.refund) == (
        "paypal",
        Decimal("23.88"),
        False,
    )
    assert (refund.amount.amount, refund.refund) == (Decimal("23.88"), True)
    assert sale.customer is not None and sale.customer.channel_ids == {}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("completed", SaleStatus.COMPLETED),
        ("processing", SaleStatus.COMPLETED),
        ("cancelled", SaleStatus.CANCELLED),
        ("refunded", SaleStatus.CANCELLED),
        ("pending", SaleStatus.OTHER),
        ("on-hold", SaleStatus.OTHER),
        ("failed", SaleStatus.OTHER),
        ("checkout-draft", SaleStatus.OTHER),
    ],
)
def test_statuses_map(connector: WooCommerceConnector, status: str, expected: SaleStatus) -> None:
    order = load("order_processing.json")
    order["status"] = status
    assert decode(connector, order).sale.status is expected


def test_a_cancelled_unpaid_order_moves_nothing(connector: WooCommerceConnector) -> None:
    order = load("order_processing.json")
    order.update(status="cancelled", date_paid=None, date_paid_gmt=None)
    sale = decode(connector, order).sale
    assert sale.stock_lines() == () and sale.tenders == ()


def test_local_dates_are_read_in_the_site_zone_when_gmt_is_missing(
    context: ConnectorContext,
) -> None:
    connector = WooCommerceConnector(make_config(site_timezone="Europe/Paris"), context)
    order = load("order_processing.json")
    del order["date_created_gmt"]
    sale = decode(connector, order).sale
    assert sale.occurred_at == datetime(2026, 1, 15, 10, 15, 42, tzinfo=UTC)


def test_a_line_without_sku_is_a_data_error(connector: WooCommerceConnector) -> None:
    order = load("order_processing.json")
    order["line_items"][0]["sku"] = ""
    with pytest.raises(DataError, match=r"line 5101 .* has no SKU"):
        decode(connector, order)


def test_orders_without_currency_or_id_are_data_errors(connector: WooCommerceConnector) -> None:
    order = load("order_processing.json")
    order["currency"] = ""
    with pytest.raises(DataError, match="currency"):
        decode(connector, order)
    with pytest.raises(DataError, match="'id'"):
        decode(connector, {"currency": "EUR"})


def test_a_product_level_without_sku_uses_the_binding(
    connector: WooCommerceConnector, context: ConnectorContext
) -> None:
    context.bindings.put(ITEM_ENTITY, "JEANS-32-34", "1300/1311")
    product = load("product_variation.json")
    product["sku"] = ""
    (body,) = connector.decode(InboundEvent(key="k", kind="product", payload=product))
    assert isinstance(body, StockLevelBody) and body.level.sku == "JEANS-32-34"
    product["id"] = 77
    with pytest.raises(DataError, match="not bound"):
        connector.decode(InboundEvent(key="k", kind="product", payload=product))


def test_unknown_kinds_are_data_errors(connector: WooCommerceConnector) -> None:
    with pytest.raises(DataError, match="coupon"):
        connector.decode(InboundEvent(key="k", kind="coupon", payload={}))
