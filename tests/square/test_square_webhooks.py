"""Square webhooks: HMAC-SHA256 over notification URL + raw body, events keyed by event_id."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bridge.connector import ConnectorContext, InboundEvent, WebhookRequest
from bridge.errors import AuthError, ConfigError, DataError
from bridge.model import SaleBody, StockLevelBody
from connectors.square import SquareConnector, webhooks
from tests.square.square_fake import (
    ITEM_COFFEE,
    LOC_NY,
    NOTIFICATION_URL,
    FakeSquare,
    load,
    settings,
    sign,
)

# Test vectors published by Square in its Python SDK, square/square-python-sdk:
# tests/integration/test_webhooks_helper.py (also tests/utilities/test_webhooks_helper.py in
# earlier releases): the body, signature key, notification URL and the header Square sent.
SDK_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f",'
    b'"created_at":"2022-07-13T20:30:59.037339943Z",'
    b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
SDK_SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
SDK_KEY = "Ibxx_5AKakO-3qeNVR61Dw"
SDK_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
# Same file, test_signature_validation_escaped_pass: characters JSON encoders like to escape.
SDK_ESCAPED_BODY = b'{"data":{"type":"webhooks","id":">id<"}}'
SDK_ESCAPED_SIGNATURE = "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="


def sdk_connector(context: ConnectorContext, key: str = SDK_KEY, url: str = SDK_URL):
    return SquareConnector(settings(webhook_signature_key=key, notification_url=url), context)


def request(body: bytes, signature: str | None) -> WebhookRequest:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Square-HmacSha256-Signature"] = signature  # any case
    return WebhookRequest(headers=headers, body=body)


def test_square_sdk_vector_verifies(context: ConnectorContext) -> None:
    assert webhooks.signature(SDK_KEY, SDK_URL, SDK_BODY) == SDK_SIGNATURE
    sdk_connector(context).verify_webhook(request(SDK_BODY, SDK_SIGNATURE))


def test_square_sdk_escaped_vector_verifies(context: ConnectorContext) -> None:
    conn = sdk_connector(context, key="signature-key", url="https://webhook.site/webhooks")
    conn.verify_webhook(request(SDK_ESCAPED_BODY, SDK_ESCAPED_SIGNATURE))


@pytest.mark.parametrize(
    ("key", "url", "body", "signature"),
    [
        # The SDK's own negative cases: another URL, another key, another header, another body.
        (SDK_KEY, "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9", SDK_BODY,
         SDK_SIGNATURE),
        ("MCmhFRxGX82xMwg5FsaoQA", SDK_URL, SDK_BODY, SDK_SIGNATURE),
        (SDK_KEY, SDK_URL, SDK_BODY, "1z2n3DEJJiUPKcPzQo1ftvbxGdw="),
        (SDK_KEY, SDK_URL, SDK_BODY.replace(b"2022-07-13", b"2022-06-13"), SDK_SIGNATURE),
        # The same JSON re-serialised: the signature covers the raw bytes.
        (SDK_KEY, SDK_URL, json.dumps(json.loads(SDK_BODY), indent=2).encode(), SDK_SIGNATURE),
        (SDK_KEY, SDK_URL, SDK_BODY, SDK_SIGNATURE[:-2] + "A="),
        (SDK_KEY, SDK_URL, SDK_BODY, ""),
    ],
)  # fmt: skip
def test_forged_or_altered_notifications_are_refused(
    context: ConnectorContext, key: str, url: str, body: bytes, signature: str
) -> None:
    with pytest.raises(AuthError):
        sdk_connector(context, key, url).verify_webhook(request(body, signature))


def test_a_missing_signature_is_refused(context: ConnectorContext) -> None:
    with pytest.raises(AuthError, match="x-square-hmacsha256-signature"):
        sdk_connector(context).verify_webhook(request(SDK_BODY, None))


def test_webhooks_need_their_configuration(context: ConnectorContext) -> None:
    conn = SquareConnector(settings(webhook_signature_key=None, notification_url=None), context)
    with pytest.raises(ConfigError, match="webhook_signature_key"):
        conn.verify_webhook(request(SDK_BODY, SDK_SIGNATURE))


def test_the_test_notification_yields_no_event(context: ConnectorContext) -> None:
    conn = sdk_connector(context)
    assert conn.parse_webhook(request(SDK_BODY, SDK_SIGNATURE)) == []


def test_events_are_keyed_by_event_id(connector: SquareConnector) -> None:
    body = json.dumps(load("webhook_order_updated.json")).encode()
    req = request(body, sign(body))
    connector.verify_webhook(req)
    (event,) = connector.parse_webhook(req)
    assert event.key == "9ad3d2a4-2b8b-3d41-a1c5-5e0e6c2f1b77"
    assert event.kind == "order.updated"
    assert connector.parse_webhook(req) == [event]  # a redelivery: same key


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"type": "order.updated"}'])
def test_unreadable_notifications_are_data_errors(connector: SquareConnector, body) -> None:
    with pytest.raises(DataError):
        connector.parse_webhook(request(body, sign(body)))


def test_order_updated_reads_the_completed_order(
    connector: SquareConnector, square: FakeSquare
) -> None:
    square.add_order(load("order_card_cash.json"))
    payload = load("webhook_order_updated.json")
    event = InboundEvent(key=payload["event_id"], kind="order.updated", payload=payload)
    (body,) = connector.decode(event)
    assert isinstance(body, SaleBody)
    assert body.sale.key.transaction_id == "CAISENgvlJ6jLWAzERDzjyHVybY"
    assert ("GET", "/v2/orders/CAISENgvlJ6jLWAzERDzjyHVybY", None) in square.calls


@pytest.mark.parametrize("state", ["OPEN", "DRAFT", "CANCELED"])
def test_unfinished_orders_are_not_read(
    connector: SquareConnector, square: FakeSquare, state: str
) -> None:
    payload = load("webhook_order_updated.json")
    payload["data"]["object"]["order_updated"]["state"] = state
    assert connector.decode(InboundEvent(key="e", kind="order.updated", payload=payload)) == []
    assert not square.calls


def test_an_order_gone_from_square_is_a_data_error(connector: SquareConnector) -> None:
    payload = load("webhook_order_updated.json")
    with pytest.raises(DataError, match="NOT_FOUND"):
        connector.decode(InboundEvent(key="e", kind="order.updated", payload=payload))


def test_inventory_count_updated_gives_stock_levels(connector: SquareConnector) -> None:
    payload = load("webhook_inventory_count_updated.json")
    bodies = connector.decode(
        InboundEvent(key=payload["event_id"], kind="inventory.count.updated", payload=payload)
    )
    assert all(isinstance(b, StockLevelBody) for b in bodies)
    # Only IN_STOCK counts: SOLD is a state of goods gone, not what the store holds.
    assert [(b.level.sku, b.level.location, b.level.on_hand) for b in bodies] == [
        ("LINEN-L-SAND", LOC_NY, Decimal(10)),
        ("COFFEE-HOUSE-LB", LOC_NY, Decimal("12.545")),
    ]
    assert ITEM_COFFEE not in {b.level.sku for b in bodies}


def test_signature_covers_the_configured_url_not_the_request_url(
    connector: SquareConnector,
) -> None:
    body = json.dumps(load("webhook_order_updated.json")).encode()
    seen_by_brique = "http://10.0.0.5:8000/webhooks/tills"  # behind the reverse proxy
    req = WebhookRequest(
        headers={webhooks.SIGNATURE_HEADER: sign(body, url=NOTIFICATION_URL)},
        body=body,
        url=seen_by_brique,
    )
    connector.verify_webhook(req)
